package bench

import (
	"encoding/xml"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestBenchPlot(t *testing.T) {
	dir := t.TempDir()
	svg := filepath.Join(dir, "p.svg")
	if err := writePlot(svg, testReport()); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(svg)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := xml.NewDecoder(f)
	lines := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
			for _, a := range se.Attr {
				if a.Name.Local == "stroke-width" && a.Value == "2" {
					lines++
				}
			}
		}
	}
	if lines != 2*6 { // six series, each with its line in the legend
		t.Errorf("%d lines of width 2, want 12", lines)
	}

	pngPath := filepath.Join(dir, "p.png")
	if err := writePlot(pngPath, testReport()); err != nil {
		t.Fatal(err)
	}
	pf, err := os.Open(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	img, err := png.Decode(pf)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 2*plotW || b.Dy() != 2*plotH {
		t.Errorf("PNG is %v, want %dx%d", b, 2*plotW, 2*plotH)
	}
	// The first series' colour is on the plot.
	want := plotColors[0]
	found := false
	for y := 0; y < img.Bounds().Dy() && !found; y++ {
		for x := 0; x < img.Bounds().Dx(); x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if uint8(r>>8) == want.R && uint8(g>>8) == want.G && uint8(b>>8) == want.B {
				found = true
				break
			}
		}
	}
	if !found {
		t.Error("PNG has no pixel of the first series' colour")
	}
}
