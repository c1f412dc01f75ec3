package output

import (
	"container/heap"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/domainscan/domain-scan/internal/atomicfile"
)

const (
	defaultChunkBytes = 64 << 20
	// maxFanIn bounds the files open at once during a merge; more chunks
	// than this are merged in rounds.
	maxFanIn = 64
	// Per-row and per-field overheads (slice and string headers) counted
	// against chunkBytes on top of the field bytes.
	rowOverhead, fieldOverhead = 24, 16
)

// SortCSV sorts the data rows of a results CSV by their first cell in
// byte order, keeping the header (the first record) on top, and replaces
// the file atomically. Unlike the original's --sort, which kept one row per
// domain, it keeps every row, and rows with the same first cell stay in
// file order. At most about chunkBytes of rows are held in memory: larger
// files are sorted in chunks spilled to temporary files under tmpDir (""
// for the system default) and merged. chunkBytes <= 0 means 64 MiB.
//
// Records are read as Python's csv module reads them (see csvReader) and
// written back with CSVWriter, so a file CSVWriter wrote keeps its bytes.
// An empty file is left alone; a file with only a header is rewritten
// as is.
func SortCSV(path, tmpDir string, chunkBytes int) error {
	if chunkBytes <= 0 {
		chunkBytes = defaultChunkBytes
	}
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return err
	}
	r := newCSVReader(in)
	header, err := r.Read()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return err
	}

	s := &spiller{tmpDir: tmpDir}
	defer s.cleanup()
	var (
		chunk [][]string
		size  int
	)
	for {
		start := r.n
		row, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		chunk = append(chunk, row)
		size += r.n - start + rowOverhead + fieldOverhead*len(row)
		if size >= chunkBytes {
			if err := s.spill(chunk); err != nil {
				return err
			}
			clear(chunk) // let the spilled rows be collected
			chunk, size = chunk[:0], 0
		}
	}
	if err := in.Close(); err != nil {
		return err
	}

	if len(s.files) > 0 && len(chunk) > 0 {
		if err := s.spill(chunk); err != nil {
			return err
		}
		chunk = nil
	}
	if err := s.reduce(); err != nil {
		return err
	}
	return atomicfile.Write(path, info.Mode().Perm(), func(w io.Writer) error {
		cw := NewCSVWriter(w)
		if err := cw.Write(header); err != nil {
			return err
		}
		if len(s.files) == 0 {
			sortRows(chunk)
			for _, row := range chunk {
				if err := cw.Write(row); err != nil {
					return err
				}
			}
		} else if err := mergeFiles(s.files, cw); err != nil {
			return err
		}
		return cw.Flush()
	})
}

func sortKey(row []string) string {
	if len(row) == 0 {
		return "" // a blank line
	}
	return row[0]
}

func sortRows(rows [][]string) {
	slices.SortStableFunc(rows, func(a, b []string) int {
		return strings.Compare(sortKey(a), sortKey(b))
	})
}

// spiller holds the sorted chunk files, in input order.
type spiller struct {
	tmpDir string
	dir    string // created on first spill
	files  []string
}

func (s *spiller) create() (*os.File, error) {
	if s.dir == "" {
		dir, err := os.MkdirTemp(s.tmpDir, "sortcsv-")
		if err != nil {
			return nil, err
		}
		s.dir = dir
	}
	return os.CreateTemp(s.dir, "chunk-*.csv")
}

// spill sorts rows and writes them to a new chunk file.
func (s *spiller) spill(rows [][]string) error {
	sortRows(rows)
	return s.write(func(cw *CSVWriter) error {
		for _, row := range rows {
			if err := cw.Write(row); err != nil {
				return err
			}
		}
		return nil
	})
}

// write appends a chunk file with what fill writes.
func (s *spiller) write(fill func(*CSVWriter) error) error {
	f, err := s.create()
	if err != nil {
		return err
	}
	s.files = append(s.files, f.Name())
	cw := NewCSVWriter(f)
	if err := fill(cw); err != nil {
		f.Close()
		return err
	}
	if err := cw.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// reduce merges runs of adjacent chunks until at most maxFanIn are left.
// Merging adjacent runs keeps equal keys in input order.
func (s *spiller) reduce() error {
	for len(s.files) > maxFanIn {
		files := s.files
		s.files = nil
		for group := range slices.Chunk(files, maxFanIn) {
			if len(group) == 1 {
				s.files = append(s.files, group[0])
				continue
			}
			if err := s.write(func(cw *CSVWriter) error { return mergeFiles(group, cw) }); err != nil {
				return err
			}
			for _, name := range group {
				if err := os.Remove(name); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (s *spiller) cleanup() {
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// mergeFiles k-way merges sorted chunk files into cw. Ties go to the
// earlier file, whose rows came first in the input.
func mergeFiles(names []string, cw *CSVWriter) error {
	h := make(rowHeap, 0, len(names))
	readers := make([]*csvReader, len(names))
	for i, name := range names {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		readers[i] = newCSVReader(f)
		row, err := readers[i].Read()
		if err == io.EOF {
			continue
		}
		if err != nil {
			return err
		}
		h = append(h, heapRow{row, i})
	}
	heap.Init(&h)
	for len(h) > 0 {
		if err := cw.Write(h[0].row); err != nil {
			return err
		}
		row, err := readers[h[0].src].Read()
		switch {
		case err == io.EOF:
			heap.Pop(&h)
		case err != nil:
			return err
		default:
			h[0].row = row
			heap.Fix(&h, 0)
		}
	}
	return nil
}

type heapRow struct {
	row []string
	src int
}

type rowHeap []heapRow

func (h rowHeap) Len() int { return len(h) }
func (h rowHeap) Less(i, j int) bool {
	if c := strings.Compare(sortKey(h[i].row), sortKey(h[j].row)); c != 0 {
		return c < 0
	}
	return h[i].src < h[j].src
}
func (h rowHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *rowHeap) Push(x any)   { *h = append(*h, x.(heapRow)) }
func (h *rowHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
