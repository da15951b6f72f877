// Package crash holds Xenolith's crash-consistency tests of the PV block
// path (docs/crash-consistency.md): the guest program blkstream writes a
// stream of self-describing records with periodic flushes; the tests kill
// the monitor with SIGKILL at random points and check that every record
// whose flush completed is intact in the image, and inject storage faults
// (blkback.Faulty) to check that the guest sees BLKIF_RSP_ERROR while the
// VM and the monitor keep running. Check classifies an image's records.
package crash
