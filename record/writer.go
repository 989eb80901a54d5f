package record

// writerState is how a writer ends, shared by WAVWriter and the Ogg/Opus
// writers: the error that stopped it, which every method returns from
// then on, and whether Close was called.
type writerState struct {
	closed bool
	err    error
}

// usable returns what stops a write: the writer's error, else ErrClosed
// after Close.
func (s *writerState) usable() error {
	switch {
	case s.err != nil:
		return s.err
	case s.closed:
		return ErrClosed
	}
	return nil
}

// stop makes err (already wrapped for the caller) the writer's error and
// returns it.
func (s *writerState) stop(err error) error {
	s.err = err
	return err
}
