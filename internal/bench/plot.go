package bench

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"strconv"
	"strings"
)

// The latency plot: x is the percentile on a log scale of 1/(1-p) (p50,
// p90, p99, p99.9, p99.99, then the maximum), y the latency in µs on a log
// scale; one line per scenario, dashed for the floors. It is drawn once as
// a list of shapes, then written as SVG text or rasterised into a PNG with
// a small built-in font: no dependency either way.

const (
	plotW, plotH = 960, 540
	plotLeft     = 105
	plotRight    = 700 // the legend is to the right of it
	plotTop      = 70
	plotBottom   = 470
)

var plotColors = []color.RGBA{
	{0x1f, 0x77, 0xb4, 0xff}, {0xd6, 0x27, 0x28, 0xff}, {0x2c, 0xa0, 0x2c, 0xff},
	{0xff, 0x7f, 0x0e, 0xff}, {0x94, 0x67, 0xbd, 0xff}, {0x8c, 0x56, 0x4b, 0xff},
	{0xe3, 0x77, 0xc2, 0xff}, {0x17, 0xbe, 0xcf, 0xff}, {0x7f, 0x7f, 0x7f, 0xff},
	{0xbc, 0xbd, 0x22, 0xff}, {0x39, 0x3b, 0x79, 0xff}, {0x63, 0x79, 0x39, 0xff},
	{0xad, 0x49, 0x4a, 0xff}, {0x00, 0x00, 0x00, 0xff}, {0x6b, 0x6e, 0xcf, 0xff},
	{0xe7, 0xba, 0x52, 0xff},
}

var (
	plotInk   = color.RGBA{0x22, 0x22, 0x22, 0xff}
	plotGrid  = color.RGBA{0xdd, 0xdd, 0xdd, 0xff}
	plotMinor = color.RGBA{0xf0, 0xf0, 0xf0, 0xff}
)

type plotPoint struct{ x, y float64 }

// plotShape is a polyline (with dots at its points), a line of text, or a
// filled rectangle.
type plotShape struct {
	kind   string // "line", "text", "rect"
	pts    []plotPoint
	col    color.RGBA
	width  float64
	dashed bool
	dots   bool
	text   string
	size   float64
	anchor string  // start, middle, end
	rotate float64 // degrees; only -90 (upwards) is drawn in PNG
}

// plotX places a percentile rank (100: the maximum) on the x axis.
func plotX(rank float64) float64 {
	const lo, hi = 0.25, 5.2
	v := 5.0
	if rank < 100 {
		v = -math.Log10(1 - rank/100)
	}
	return plotLeft + (v-lo)/(hi-lo)*(plotRight-plotLeft)
}

// plotShapes lays out the plot of rep.
func plotShapes(rep *report) []plotShape {
	type series struct {
		name  string
		vals  []float64
		floor bool
	}
	var all []series
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, list := range [][]result{rep.Scenarios, rep.Floors} {
		for _, r := range list {
			vals := r.Median.LatencyUs.values()
			ok := true
			for _, v := range vals {
				if v <= 0 {
					ok = false
				}
			}
			if !ok {
				continue
			}
			for _, v := range vals {
				lo, hi = min(lo, v), max(hi, v)
			}
			name := r.Name
			if i == 1 {
				name += " (floor)"
			}
			all = append(all, series{name, vals, i == 1})
		}
	}
	if len(all) == 0 {
		lo, hi = 1, 1000
	}
	dLo, dHi := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if dHi <= dLo {
		dHi = dLo + 1
	}
	y := func(us float64) float64 {
		return plotBottom - (math.Log10(us)-dLo)/(dHi-dLo)*(plotBottom-plotTop)
	}

	var s []plotShape
	line := func(col color.RGBA, w float64, pts ...plotPoint) {
		s = append(s, plotShape{kind: "line", pts: pts, col: col, width: w})
	}
	text := func(x, y float64, size float64, anchor, str string) {
		s = append(s, plotShape{kind: "text", pts: []plotPoint{{x, y}}, col: plotInk, size: size, anchor: anchor, text: str})
	}
	s = append(s, plotShape{kind: "rect", pts: []plotPoint{{0, 0}, {plotW, plotH}}, col: color.RGBA{0xff, 0xff, 0xff, 0xff}})
	runs := "runs"
	if rep.Runs == 1 {
		runs = "run"
	}
	text(plotLeft, 30, 16, "start", fmt.Sprintf("pubsub bench: end-to-end latency by percentile (medians of %d %s)", rep.Runs, runs))
	m := rep.Machine
	text(plotLeft, 50, 11, "start", fmt.Sprintf("%d CPUs (%s), %s, %s, homes on %s", m.NProc, m.CPU, m.system(), m.Go, m.HomeBaseFS))

	// Grid: decades, with 2 and 5 between them.
	for d := dLo; d <= dHi; d++ {
		us := math.Pow(10, d)
		line(plotGrid, 1, plotPoint{plotLeft, y(us)}, plotPoint{plotRight, y(us)})
		text(plotLeft-8, y(us)+4, 11, "end", thousands(us))
		if d < dHi {
			for _, k := range []float64{2, 5} {
				line(plotMinor, 1, plotPoint{plotLeft, y(k * us)}, plotPoint{plotRight, y(k * us)})
			}
		}
	}
	for _, rank := range percentileRanks {
		x := plotX(rank)
		line(plotGrid, 1, plotPoint{x, plotTop}, plotPoint{x, plotBottom})
		label := "max"
		if rank < 100 {
			label = "p" + strconv.FormatFloat(rank, 'f', -1, 64)
		}
		text(x, plotBottom+18, 11, "middle", label)
	}
	line(plotInk, 1, plotPoint{plotLeft, plotTop}, plotPoint{plotLeft, plotBottom}, plotPoint{plotRight, plotBottom})
	text((plotLeft+plotRight)/2, plotBottom+42, 12, "middle", "percentile")
	s = append(s, plotShape{kind: "text", pts: []plotPoint{{22, (plotTop + plotBottom) / 2}}, col: plotInk, size: 12, anchor: "middle", text: "latency (µs)", rotate: -90})

	for i, sr := range all {
		col := plotColors[i%len(plotColors)]
		pts := make([]plotPoint, len(sr.vals))
		for j, v := range sr.vals {
			pts[j] = plotPoint{plotX(percentileRanks[j]), y(v)}
		}
		s = append(s, plotShape{kind: "line", pts: pts, col: col, width: 2, dashed: sr.floor, dots: true})
		ly := float64(plotTop + 10 + 22*i)
		s = append(s, plotShape{kind: "line", pts: []plotPoint{{plotRight + 20, ly}, {plotRight + 50, ly}}, col: col, width: 2, dashed: sr.floor})
		text(plotRight+58, ly+4, 12, "start", sr.name)
	}
	return s
}

func writePlot(path string, rep *report) error {
	shapes := plotShapes(rep)
	var b []byte
	if strings.HasSuffix(path, ".png") {
		var buf bytes.Buffer
		if err := png.Encode(&buf, rasterPlot(shapes, 2)); err != nil {
			return err
		}
		b = buf.Bytes()
	} else {
		b = svgPlot(shapes)
	}
	return os.WriteFile(path, b, 0o666)
}

func svgColor(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }

func svgPlot(shapes []plotShape) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="DejaVu Sans, Helvetica, Arial, sans-serif">`+"\n",
		plotW, plotH, plotW, plotH)
	for _, sh := range shapes {
		switch sh.kind {
		case "rect":
			fmt.Fprintf(&b, `<rect x="%g" y="%g" width="%g" height="%g" fill="%s"/>`+"\n",
				sh.pts[0].x, sh.pts[0].y, sh.pts[1].x-sh.pts[0].x, sh.pts[1].y-sh.pts[0].y, svgColor(sh.col))
		case "line":
			var pts []string
			for _, p := range sh.pts {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", p.x, p.y))
			}
			dash := ""
			if sh.dashed {
				dash = ` stroke-dasharray="7 4"`
			}
			fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="%g"%s/>`+"\n",
				strings.Join(pts, " "), svgColor(sh.col), sh.width, dash)
			if sh.dots {
				for _, p := range sh.pts {
					fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", p.x, p.y, svgColor(sh.col))
				}
			}
		case "text":
			rot := ""
			if sh.rotate != 0 {
				rot = fmt.Sprintf(` transform="rotate(%g %.1f %.1f)"`, sh.rotate, sh.pts[0].x, sh.pts[0].y)
			}
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="%g" text-anchor="%s" fill="%s"%s>%s</text>`+"\n",
				sh.pts[0].x, sh.pts[0].y, sh.size, sh.anchor, svgColor(sh.col), rot, xmlEscape(sh.text))
		}
	}
	b.WriteString("</svg>\n")
	return b.Bytes()
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// rasterPlot draws the shapes at scale times their size.
func rasterPlot(shapes []plotShape, scale float64) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, int(plotW*scale), int(plotH*scale)))
	dot := func(x, y, r float64, c color.RGBA) {
		for py := int(math.Floor(y - r)); py <= int(math.Ceil(y+r)); py++ {
			for px := int(math.Floor(x - r)); px <= int(math.Ceil(x+r)); px++ {
				dx, dy := float64(px)+0.5-x, float64(py)+0.5-y
				if dx*dx+dy*dy <= r*r {
					img.SetRGBA(px, py, c)
				}
			}
		}
	}
	for _, sh := range shapes {
		switch sh.kind {
		case "rect":
			for py := int(sh.pts[0].y * scale); py < int(sh.pts[1].y*scale); py++ {
				for px := int(sh.pts[0].x * scale); px < int(sh.pts[1].x*scale); px++ {
					img.SetRGBA(px, py, sh.col)
				}
			}
		case "line":
			r := max(sh.width*scale/2, 0.6)
			walked := 0.0
			for i := 1; i < len(sh.pts); i++ {
				a, b := sh.pts[i-1], sh.pts[i]
				ax, ay, bx, by := a.x*scale, a.y*scale, b.x*scale, b.y*scale
				n := int(math.Ceil(math.Hypot(bx-ax, by-ay)))
				for k := 0; k <= n; k++ {
					t := float64(k) / float64(max(n, 1))
					if !sh.dashed || math.Mod(walked+float64(k), 11*scale) < 7*scale {
						dot(ax+t*(bx-ax), ay+t*(by-ay), r, sh.col)
					}
				}
				walked += float64(n)
			}
			if sh.dots {
				for _, p := range sh.pts {
					dot(p.x*scale, p.y*scale, 3*scale, sh.col)
				}
			}
		case "text":
			drawText(img, sh, scale)
		}
	}
	return img
}

// drawText draws text with the 5x7 font: lower case only, each pixel of
// the font a square of px pixels. A text rotated -90 degrees is drawn
// upwards.
func drawText(img *image.RGBA, sh plotShape, scale float64) {
	px := max(1, int(math.Round(sh.size*scale/8)))
	str := []rune(strings.ToLower(sh.text))
	adv := 6 * px
	total := float64(len(str) * adv)
	x0, y0 := sh.pts[0].x*scale, sh.pts[0].y*scale
	switch sh.anchor {
	case "middle":
		x0 -= total / 2
	case "end":
		x0 -= total
	}
	up := sh.rotate == -90
	if up {
		x0, y0 = sh.pts[0].x*scale, sh.pts[0].y*scale+total/2
	}
	for i, r := range str {
		g, ok := font5x7[r]
		if !ok {
			g = font5x7['?']
		}
		drop := 0
		if _, ok := descenders[r]; ok {
			g, drop = descenders[r], 2
		}
		for row := range 7 {
			for col := range 5 {
				if g[row][col] != '#' {
					continue
				}
				for dy := range px {
					for dx := range px {
						// The baseline is at y0; glyphs are 7 pixels tall.
						gx, gy := i*adv+col*px+dx, (row+drop-7)*px+dy
						if up {
							img.SetRGBA(int(x0)+gy, int(y0)-gx, sh.col)
						} else {
							img.SetRGBA(int(x0)+gx, int(y0)+gy, sh.col)
						}
					}
				}
			}
		}
	}
}

// descenders are the letters that go below the line: drawn two rows
// lower, from the top of the small letters down.
var descenders = map[rune][7]string{
	'g': {".####", "#...#", "#...#", ".####", "....#", "....#", ".###."},
	'p': {"####.", "#...#", "#...#", "####.", "#....", "#....", "#...."},
	'q': {".####", "#...#", "#...#", ".####", "....#", "....#", "....#"},
	'y': {"#...#", "#...#", "#...#", ".####", "....#", "....#", ".###."},
}

// font5x7 is a 5x7 pixel font for what the plot writes.
var font5x7 = map[rune][7]string{
	' ': {".....", ".....", ".....", ".....", ".....", ".....", "....."},
	'0': {".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."},
	'1': {"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."},
	'2': {".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"},
	'3': {"#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."},
	'4': {"...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."},
	'5': {"#####", "#....", "####.", "....#", "....#", "#...#", ".###."},
	'6': {"..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."},
	'7': {"#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."},
	'8': {".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."},
	'9': {".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."},
	'a': {".....", ".....", ".###.", "....#", ".####", "#...#", ".####"},
	'b': {"#....", "#....", "#.##.", "##..#", "#...#", "#...#", "####."},
	'c': {".....", ".....", ".###.", "#....", "#....", "#...#", ".###."},
	'd': {"....#", "....#", ".##.#", "#..##", "#...#", "#...#", ".####"},
	'e': {".....", ".....", ".###.", "#...#", "#####", "#....", ".###."},
	'f': {"..##.", ".#..#", ".#...", "###..", ".#...", ".#...", ".#..."},
	'g': {".....", ".####", "#...#", "#...#", ".####", "....#", ".###."},
	'h': {"#....", "#....", "#.##.", "##..#", "#...#", "#...#", "#...#"},
	'i': {"..#..", ".....", ".##..", "..#..", "..#..", "..#..", ".###."},
	'j': {"...#.", ".....", "..##.", "...#.", "...#.", "#..#.", ".##.."},
	'k': {"#....", "#....", "#..#.", "#.#..", "##...", "#.#..", "#..#."},
	'l': {".##..", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."},
	'm': {".....", ".....", "##.#.", "#.#.#", "#.#.#", "#...#", "#...#"},
	'n': {".....", ".....", "#.##.", "##..#", "#...#", "#...#", "#...#"},
	'o': {".....", ".....", ".###.", "#...#", "#...#", "#...#", ".###."},
	'p': {".....", ".....", "####.", "#...#", "####.", "#....", "#...."},
	'q': {".....", ".....", ".##.#", "#..##", ".####", "....#", "....#"},
	'r': {".....", ".....", "#.##.", "##..#", "#....", "#....", "#...."},
	's': {".....", ".....", ".###.", "#....", ".###.", "....#", "####."},
	't': {".#...", ".#...", "###..", ".#...", ".#...", ".#..#", "..##."},
	'u': {".....", ".....", "#...#", "#...#", "#...#", "#..##", ".##.#"},
	'v': {".....", ".....", "#...#", "#...#", "#...#", ".#.#.", "..#.."},
	'w': {".....", ".....", "#...#", "#...#", "#.#.#", "#.#.#", ".#.#."},
	'x': {".....", ".....", "#...#", ".#.#.", "..#..", ".#.#.", "#...#"},
	'y': {".....", ".....", "#...#", "#...#", ".####", "....#", ".###."},
	'z': {".....", ".....", "#####", "...#.", "..#..", ".#...", "#####"},
	'.': {".....", ".....", ".....", ".....", ".....", ".##..", ".##.."},
	',': {".....", ".....", ".....", ".....", ".##..", "..#..", ".#..."},
	':': {".....", ".##..", ".##..", ".....", ".##..", ".##..", "....."},
	'-': {".....", ".....", ".....", "#####", ".....", ".....", "....."},
	'+': {".....", "..#..", "..#..", "#####", "..#..", "..#..", "....."},
	'/': {".....", "....#", "...#.", "..#..", ".#...", "#....", "....."},
	'(': {"...#.", "..#..", ".#...", ".#...", ".#...", "..#..", "...#."},
	')': {".#...", "..#..", "...#.", "...#.", "...#.", "..#..", ".#..."},
	'%': {"##...", "##..#", "...#.", "..#..", ".#...", "#..##", "...##"},
	'=': {".....", ".....", "#####", ".....", "#####", ".....", "....."},
	'_': {".....", ".....", ".....", ".....", ".....", ".....", "#####"},
	'µ': {".....", ".....", "#...#", "#...#", "#..##", "##.#.", "#...."},
	'?': {".###.", "#...#", "....#", "...#.", "..#..", ".....", "..#.."},
}
