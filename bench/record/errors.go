package record

import "errors"

// Sentinel errors of record parsing; Read and Parse wrap them with the
// record's path and the detail.
var (
	// ErrNotRecord means the data is not a xenolith record at all: not a
	// JSON object, no schema field, or another tool's name.
	ErrNotRecord = errors.New("not a xenolith record")
	// ErrSchemaNewer means the record was written by a newer tool whose
	// schema this one does not understand.
	ErrSchemaNewer = errors.New("newer than this tool supports")
	// ErrInvalid means the record claims to be one but breaks the schema:
	// a missing suite name, a duplicate metric, a non-finite value, an
	// unknown curve kind.
	ErrInvalid = errors.New("invalid record")
)
