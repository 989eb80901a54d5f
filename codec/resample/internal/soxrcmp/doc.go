// Package soxrcmp wraps libsoxr through cgo for the benchmark-only
// comparison in codec/resample. It is empty unless built with the soxr tag
// (and cgo, and Debian's libsoxr-dev), so it never takes part in a normal
// build. See codec/resample/doc.go for the command.
package soxrcmp
