package domains

import (
	"bufio"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"os"
)

// De-duplication without holding the names in memory
//
// A run may list ten million domains, so the names live only in the spool
// file (one per line, in first-occurrence order) and memory holds just an
// open-addressing hash set of uint64 slots:
//
//	slot = (spoolOffset+1)<<24 | tag      0 means empty
//
// where tag is the high 24 bits of the name's 64-bit maphash and the probe
// start is its low bits (linear probing). A lookup that meets a slot with the
// same tag reads the line at that offset and compares it, so the answer is
// exact; with a 24-bit tag a needless read happens about once per several
// million distinct names, while every true duplicate costs one read (from the
// in-memory write buffer when recent, else one pread).
//
// The table doubles at 3/4 load. Slots do not keep the full hash, so growing
// rebuilds the table by reading the spool sequentially and hashing each line
// again; that also lets the old table be freed first, so even growth never
// holds two tables. Load stays between 3/8 and 3/4, i.e. about 11-21 bytes
// per distinct domain (8 bytes per slot), and the 40-bit offset allows a
// 1 TiB spool.

const (
	tagBits   = 24
	tagMask   = 1<<tagBits - 1
	maxOffset = 1<<(64-tagBits) - 2 // offset+1 must fit in 40 bits
	minSlots  = 1 << 10
	spoolBuf  = 64 << 10
)

// spool is the append-only file of names with its own write buffer, so that
// a line still in the buffer can be compared without a flush.
type spool struct {
	f        *os.File
	buf      []byte
	bufStart int64  // file offset of buf[0]
	scratch  []byte // reused for reads of flushed lines
}

func newSpool(f *os.File) *spool {
	return &spool{f: f, buf: make([]byte, 0, spoolBuf)}
}

// size is the logical length, flushed or not.
func (s *spool) size() int64 { return s.bufStart + int64(len(s.buf)) }

// append adds name as a line and returns the line's offset.
func (s *spool) append(name string) (int64, error) {
	off := s.size()
	if off > maxOffset {
		return 0, errors.New("domain spool larger than 1 TiB")
	}
	if len(s.buf)+len(name)+1 > cap(s.buf) {
		if err := s.flush(); err != nil {
			return 0, err
		}
	}
	s.buf = append(s.buf, name...)
	s.buf = append(s.buf, '\n')
	return off, nil
}

func (s *spool) flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	if _, err := s.f.Write(s.buf); err != nil {
		return fmt.Errorf("write domain spool: %w", err)
	}
	s.bufStart += int64(len(s.buf))
	s.buf = s.buf[:0]
	return nil
}

// equalAt reports whether the line at off is exactly name.
func (s *spool) equalAt(off int64, name string) (bool, error) {
	n := len(name) + 1
	if off >= s.bufStart {
		line := s.buf[off-s.bufStart:]
		return len(line) >= n && line[len(name)] == '\n' && string(line[:len(name)]) == name, nil
	}
	if off+int64(n) > s.bufStart {
		// The bytes we need straddle file and buffer; rare, so just flush.
		if err := s.flush(); err != nil {
			return false, err
		}
	}
	if cap(s.scratch) < n {
		s.scratch = make([]byte, n)
	}
	b := s.scratch[:n]
	if _, err := s.f.ReadAt(b, off); err != nil {
		if errors.Is(err, io.EOF) {
			return false, nil // the stored line is shorter and last
		}
		return false, fmt.Errorf("read domain spool: %w", err)
	}
	return b[len(name)] == '\n' && string(b[:len(name)]) == name, nil
}

// lines calls fn for each line of the first size bytes of f, without the
// newline. line is only valid during the call.
func lines(f *os.File, size int64, fn func(line []byte) bool) error {
	r := bufio.NewReaderSize(io.NewSectionReader(f, 0, size), spoolBuf)
	for {
		line, err := r.ReadSlice('\n')
		if len(line) > 0 {
			if line[len(line)-1] != '\n' {
				return errors.New("read domain spool: truncated line")
			}
			if !fn(line[:len(line)-1]) {
				return nil
			}
		}
		switch {
		case err == io.EOF:
			return nil
		case err != nil:
			return fmt.Errorf("read domain spool: %w", err)
		}
	}
}

// set is the exact, memory-bounded set of names described above.
type set struct {
	sp    *spool
	slots []uint64
	n     int
	seed  maphash.Seed
	// testHash replaces maphash in tests, to force tag collisions.
	testHash func(string) uint64
}

func newSet(sp *spool) *set {
	return &set{sp: sp, slots: make([]uint64, minSlots), seed: maphash.MakeSeed()}
}

func (s *set) hashString(name string) uint64 {
	if s.testHash != nil {
		return s.testHash(name)
	}
	return maphash.String(s.seed, name)
}

func (s *set) hashBytes(b []byte) uint64 {
	if s.testHash != nil {
		return s.testHash(string(b))
	}
	return maphash.Bytes(s.seed, b) // same value as maphash.String of the same bytes
}

// add appends name to the spool unless it is already there; added reports
// which happened.
func (s *set) add(name string) (added bool, err error) {
	h := s.hashString(name)
	tag := h >> (64 - tagBits)
	mask := uint64(len(s.slots) - 1)
	i := h & mask
	for {
		v := s.slots[i]
		if v == 0 {
			break
		}
		if v&tagMask == tag {
			eq, err := s.sp.equalAt(int64(v>>tagBits)-1, name)
			if err != nil {
				return false, err
			}
			if eq {
				return false, nil
			}
		}
		i = (i + 1) & mask
	}
	off, err := s.sp.append(name)
	if err != nil {
		return false, err
	}
	s.slots[i] = uint64(off+1)<<tagBits | tag
	s.n++
	if s.n*4 > len(s.slots)*3 {
		return true, s.grow()
	}
	return true, nil
}

// grow doubles the table, rebuilding it from the spool (see above).
func (s *set) grow() error {
	size := 2 * len(s.slots)
	s.slots = nil // drop the old table before allocating the new one
	if err := s.sp.flush(); err != nil {
		return err
	}
	slots := make([]uint64, size)
	mask := uint64(size - 1)
	var off int64
	n := 0
	err := lines(s.sp.f, s.sp.size(), func(line []byte) bool {
		h := s.hashBytes(line)
		i := h & mask
		for slots[i] != 0 {
			i = (i + 1) & mask
		}
		slots[i] = uint64(off+1)<<tagBits | h>>(64-tagBits)
		off += int64(len(line)) + 1
		n++
		return true
	})
	if err != nil {
		return err
	}
	if n != s.n {
		return fmt.Errorf("domain spool holds %d names, expected %d", n, s.n)
	}
	s.slots = slots
	return nil
}
