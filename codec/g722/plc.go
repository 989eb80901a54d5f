package g722

// Packet-loss concealment, in two parts.
//
// The waveform: the scheme of G.711 Appendix I that codec/g711 uses too,
// run on the decoded 16 kHz signal by internal/plc.
//
// The decoder's state: G.722 is backward adaptive, so a decoder that skips
// lost codes keeps predictor coefficients and scale factors from before the
// loss while the sender's moved on. The coefficients describe the voice's
// spectrum, which changes slowly, and are best kept (G.722 Appendix IV
// keeps them too). The scale factors follow the level, and a stale one
// makes the first packets after a loss decode too loud when the talker got
// quieter, which is common at the end of a talkspurt and which the
// concealment's fade makes likelier still. So the decoder resumes with
// its scale factors lowered by the attenuation the concealment had reached
// (down to a reset once it has gone silent, as Appendix IV resets them
// after muting). TestPLCRecovery measures this against the stale state: on
// five speech clips and four loss lengths, the 40 ms after a loss are
// closer to the lossless decoding and overshoot it less. (Coding the
// concealed signal again to update the whole state, coefficients
// included, measured worse than either.)

// resume prepares the sub-band decoders for the first packet after a
// loss: the sender's level moved on, so the scale factors follow the
// concealment's.
func (d *Decoder) resume() {
	g := d.plc.Level()
	d.lo.attenuate(g, detLow[:])
	d.hi.attenuate(g, detHigh[:])
}
