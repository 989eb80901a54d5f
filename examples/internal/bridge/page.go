package bridge

import (
	"embed"
	"io/fs"
	"net/http"
)

// The web page at "/": a browser picks or creates a room, joins it with
// its microphone over WebRTC (the join route, WHIP-shaped), hears the
// room, mutes and leaves, and shows the room's participants live from the
// event stream's levels. Plain HTML, CSS and JS embedded in the binary:
// no build step, nothing fetched from elsewhere.
//
// The page's files are served without the API token: they hold no data.
// Everything the page does goes through the API with the token the user
// types into it (sent as "Authorization: Bearer", as every API client
// does; the event stream is read with fetch for that reason, since
// EventSource cannot send the header), so a bridge with a token shows a
// stranger an empty page that can do nothing.

//go:embed web
var webFiles embed.FS

// pageCSP allows the page its own scripts, styles and API calls only:
// nothing inline, nothing from another origin.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; media-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// withPage serves the page's files (GET / and /ui/...) ahead of next,
// unless Config.DisablePage.
func (s *Server) withPage(next http.Handler) http.Handler {
	if s.cfg.DisablePage {
		return next
	}
	sub, err := fs.Sub(webFiles, "web")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.FileServerFS(sub)
	mux := http.NewServeMux()
	page := func(w http.ResponseWriter, req *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", pageCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, req)
	}
	mux.HandleFunc("GET /{$}", page)
	mux.Handle("GET /ui/", http.StripPrefix("/ui", http.HandlerFunc(page)))
	mux.Handle("/", next)
	return mux
}
