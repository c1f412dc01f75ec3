package output

import (
	"bufio"
	"io"
	"strings"
)

// CSVWriter writes records byte for byte as Python's csv.writer does with
// its default dialect: ',' between fields, "\r\n" after each record, and a
// field quoted, with its '"' doubled, only when it holds ',', '"', '\r' or
// '\n'. encoding/csv's Writer cannot be used: it also quotes fields that
// start with a space. A CSVWriter is buffered and not safe for concurrent
// use.
type CSVWriter struct {
	w *bufio.Writer
}

// NewCSVWriter returns a CSVWriter writing to w.
func NewCSVWriter(w io.Writer) *CSVWriter {
	return &CSVWriter{w: bufio.NewWriterSize(w, 64<<10)}
}

// Write writes one record.
func (w *CSVWriter) Write(fields []string) error {
	// Python quotes a lone empty field; otherwise the record would be an
	// empty line, which readers take for no fields at all.
	if len(fields) == 1 && fields[0] == "" {
		_, err := w.w.WriteString("\"\"\r\n")
		return err
	}
	for i, f := range fields {
		if i > 0 {
			w.w.WriteByte(',')
		}
		if !strings.ContainsAny(f, ",\"\r\n") {
			w.w.WriteString(f)
			continue
		}
		w.w.WriteByte('"')
		for {
			j := strings.IndexByte(f, '"')
			if j < 0 {
				break
			}
			w.w.WriteString(f[:j+1])
			w.w.WriteByte('"')
			f = f[j+1:]
		}
		w.w.WriteString(f)
		w.w.WriteByte('"')
	}
	// bufio.Writer keeps the first error and returns it from every later
	// call, so checking the last write is enough.
	_, err := w.w.WriteString("\r\n")
	return err
}

// Flush writes buffered data to the underlying writer.
func (w *CSVWriter) Flush() error { return w.w.Flush() }

// csvReader reads records as Python's csv.reader reads them (default
// dialect, strict off), which keeps every byte of a field, where
// encoding/csv turns "\r\n" inside quoted fields into "\n" and skips
// blank lines. Records end at an unquoted "\n", "\r\n" or "\r"; a blank
// line is a record of no fields; a '"' other than at a field's start is an
// ordinary character; a quoted field runs to the next lone '"', and what
// follows it up to the next ',' or line end is appended. End of input ends
// an open quoted field. It reads what CSVWriter writes back exactly.
type csvReader struct {
	r *bufio.Reader
	// n counts the bytes consumed, for SortCSV's memory accounting.
	n int
}

func newCSVReader(r io.Reader) *csvReader {
	return &csvReader{r: bufio.NewReaderSize(r, 64<<10)}
}

func (r *csvReader) readByte() (byte, error) {
	c, err := r.r.ReadByte()
	if err == nil {
		r.n++
	}
	return c, err
}

// endLine consumes the '\n' of a "\r\n" line end.
func (r *csvReader) endLine(c byte) error {
	if c != '\r' {
		return nil
	}
	next, err := r.r.Peek(1)
	if err == nil && next[0] == '\n' {
		_, err = r.readByte()
		return err
	}
	if err == io.EOF {
		return nil
	}
	return err
}

// Read returns the next record, or io.EOF after the last one.
func (r *csvReader) Read() ([]string, error) {
	c, err := r.readByte()
	if err != nil {
		return nil, err // io.EOF at a record boundary
	}
	if c == '\n' || c == '\r' {
		return []string{}, r.endLine(c)
	}
	var (
		fields []string
		field  []byte
	)
	for {
		// c is the first byte of a field.
		if c == '"' {
			for {
				c, err = r.readByte()
				if err != nil {
					break
				}
				if c == '"' {
					c, err = r.readByte()
					if err != nil || c != '"' {
						break
					}
				}
				field = append(field, c)
			}
		}
		// Unquoted bytes, or those after a closing quote.
		for err == nil && c != ',' && c != '\n' && c != '\r' {
			field = append(field, c)
			c, err = r.readByte()
		}
		fields = append(fields, string(field))
		field = field[:0]
		switch {
		case err == io.EOF:
			return fields, nil
		case err != nil:
			return nil, err
		case c == ',':
			c, err = r.readByte()
			if err == io.EOF {
				// A trailing ',' at end of input: one more empty field.
				return append(fields, ""), nil
			}
			if err != nil {
				return nil, err
			}
			if c == '\n' || c == '\r' {
				return append(fields, ""), r.endLine(c)
			}
		default: // line end
			return fields, r.endLine(c)
		}
	}
}
