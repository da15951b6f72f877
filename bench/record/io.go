package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxRecordBytes bounds what Read loads: far above any real record (raw
// samples of every suite), far below what would hurt the machine.
const maxRecordBytes = 1 << 30

// FileName returns the record's file name:
// <suites>-<YYYYMMDD-HHMMSS>-<shortrev>-<host>.json, suites joined by "+",
// the time in UTC, names reduced to letters, digits, '_' and '-'.
func (r *Record) FileName() string {
	suites := r.Suites()
	for i, s := range suites {
		suites[i] = fileToken(s)
	}
	name := strings.Join(suites, "+")
	if name == "" {
		name = "record"
	}
	host := r.Host.Hostname
	if i := strings.IndexByte(host, '.'); i > 0 {
		host = host[:i] // first label of a qualified name
	}
	return fmt.Sprintf("%s-%s-%s-%s.json", name, r.Created.UTC().Format("20060102-150405"),
		fileToken(r.ShortRevision()), fileToken(host))
}

// fileToken keeps letters, digits, '_' and '-' and turns other runs into
// one '_'.
func fileToken(s string) string {
	var b strings.Builder
	under := false
	for _, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-'
		if ok {
			b.WriteRune(c)
			under = false
		} else if !under {
			b.WriteByte('_')
			under = true
		}
	}
	out := strings.Trim(b.String(), "_")
	if out == "" {
		return "unknown"
	}
	return out
}

// Marshal validates the record and encodes it as indented JSON.
func (r *Record) Marshal() ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("record: encode: %w", err)
	}
	return append(b, '\n'), nil
}

// Write validates the record and writes it under dir (created if need be)
// as FileName, or with "-2", "-3"... before ".json" if that name is taken;
// it never overwrites a file. It returns the path written.
func (r *Record) Write(dir string) (string, error) {
	data, err := r.Marshal()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("record: %w", err)
	}
	base := strings.TrimSuffix(r.FileName(), ".json")
	for i := 1; i <= 100; i++ {
		name := base + ".json"
		if i > 1 {
			name = fmt.Sprintf("%s-%d.json", base, i)
		}
		path := filepath.Join(dir, name)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", fmt.Errorf("record: %w", err)
		}
		_, werr := f.Write(data)
		cerr := f.Close()
		if werr == nil {
			werr = cerr
		}
		if werr != nil {
			os.Remove(path)
			return "", fmt.Errorf("record: write %s: %w", path, werr)
		}
		return path, nil
	}
	return "", fmt.Errorf("record: %s: 100 records of that name already exist", filepath.Join(dir, base+".json"))
}

// Read loads and validates the record at path. Its errors are one line
// beginning "record PATH: ".
func Read(path string) (*Record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", path, unwrapPath(err))
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(&limitReader{f, maxRecordBytes}); err != nil {
		return nil, fmt.Errorf("record %s: %w", path, unwrapPath(err))
	}
	r, err := Parse(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", path, err)
	}
	return r, nil
}

// unwrapPath drops the *PathError's repetition of the path.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// limitReader fails once more than n bytes were read.
type limitReader struct {
	f *os.File
	n int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, fmt.Errorf("larger than %d bytes", int64(maxRecordBytes))
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.f.Read(p)
	l.n -= int64(n)
	return n, err
}

// Parse decodes and validates a record. It tells a file that is not a
// record at all (ErrNotRecord) from one written by a newer tool
// (ErrSchemaNewer) and from a broken record (ErrInvalid).
func Parse(data []byte) (*Record, error) {
	var probe struct {
		Schema *json.RawMessage `json:"schema"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("%w (not a JSON object)", ErrNotRecord)
		}
		return nil, fmt.Errorf("%w (invalid JSON: %v)", ErrNotRecord, err)
	}
	if probe.Schema == nil || string(*probe.Schema) == "null" {
		return nil, fmt.Errorf("%w (schema missing)", ErrNotRecord)
	}
	var schema int
	if err := json.Unmarshal(*probe.Schema, &schema); err != nil {
		return nil, fmt.Errorf("%w: schema %s is not an integer", ErrInvalid, excerpt(*probe.Schema))
	}
	if schema > SchemaVersion {
		return nil, fmt.Errorf("schema %d is %w (schema %d)", schema, ErrSchemaNewer, SchemaVersion)
	}
	var r Record
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &r, nil
}

// excerpt renders a JSON value on one line, cut to 40 bytes.
func excerpt(raw []byte) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		b.Reset()
		b.Write(raw)
	}
	s := strings.Join(strings.Fields(b.String()), " ")
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}
