package record

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// FileConfig holds the options of Create and CreatePackets.
type FileConfig struct {
	Config               // the recorder's; Create sets Closer
	WAV    WAVConfig     // for .wav
	Opus   OggOpusConfig // for .opus, .ogg and .oga
}

// Create creates the file path, which must not exist, and starts a
// Recorder of f writing to it: WAV for a name ending in .wav, Ogg/Opus
// for .opus, .ogg or .oga. The recorder owns the file: Close finishes it,
// syncs it to stable storage and closes it.
//
// Create takes path as given: a caller building it from outside input
// must keep it inside the directory it means (see filepath.IsLocal).
func Create(path string, f Format, cfg FileConfig) (*Recorder, error) {
	ext := strings.ToLower(filepath.Ext(path))
	if ext != ".wav" && !isOgg(ext) {
		return nil, configf("record: %q: want a name ending in .wav, .opus, .ogg or .oga", path)
	}
	file, err := createFile(path)
	if err != nil {
		return nil, err
	}
	var w PCMWriter
	if ext == ".wav" {
		w, err = NewWAVWriter(file, f, cfg.WAV)
	} else {
		w, err = NewOggOpusWriter(file, f, cfg.Opus)
	}
	if err != nil {
		return nil, abandon(file, err)
	}
	cfg.Closer = syncCloser{file}
	r, err := NewRecorder(w, cfg.Config)
	if err != nil {
		return nil, abandon(file, err)
	}
	return r, nil
}

// CreatePackets creates the file path (.opus, .ogg or .oga), which must
// not exist, and starts a PacketRecorder writing Opus packets to it
// without transcoding (see NewOggOpusPacketWriter for f). The recorder
// owns the file as Create's does.
func CreatePackets(path string, f Format, cfg FileConfig) (*PacketRecorder, error) {
	if !isOgg(strings.ToLower(filepath.Ext(path))) {
		return nil, configf("record: %q: want a name ending in .opus, .ogg or .oga", path)
	}
	file, err := createFile(path)
	if err != nil {
		return nil, err
	}
	w, err := NewOggOpusPacketWriter(file, f, cfg.Opus)
	if err != nil {
		return nil, abandon(file, err)
	}
	cfg.Closer = syncCloser{file}
	r, err := NewPacketRecorder(w, cfg.Config)
	if err != nil {
		return nil, abandon(file, err)
	}
	return r, nil
}

func isOgg(ext string) bool { return ext == ".opus" || ext == ".ogg" || ext == ".oga" }

// createFile refuses to replace an existing file: a recording that
// silently overwrote an earlier one would lose it.
func createFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	return f, nil
}

// abandon closes and removes a file whose recorder could not be made.
func abandon(f *os.File, err error) error {
	f.Close()
	os.Remove(f.Name())
	return err
}

// syncCloser flushes the file to stable storage before closing it, so
// that a recording reported closed survives a crash of the machine.
type syncCloser struct{ f *os.File }

func (s syncCloser) Close() error {
	serr := s.f.Sync()
	cerr := s.f.Close()
	if serr != nil {
		return serr
	}
	return cerr
}
