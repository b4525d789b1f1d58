// Checks that a screenshot is not blank and that text was drawn: enough distinct colours, a
// real spread of pixel values, and enough "text rows" -- pixel rows crossed by many sharp
// light/dark edges, which glyphs make and flat panels, gradients or lines do not.
// Prints what it measured; exits 1 when the image fails.
#include <stb_image.h>

#include <cmath>
#include <cstdio>
#include <set>

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: png_check FILE.png [min_colours] [min_text_rows]\n");
        return 2;
    }
    int minColours = argc > 2 ? std::atoi(argv[2]) : 64;
    int minTextRows = argc > 3 ? std::atoi(argv[3]) : 0;
    int w, h, n;
    unsigned char* px = stbi_load(argv[1], &w, &h, &n, 3);
    if (!px) {
        std::fprintf(stderr, "png_check: cannot read %s\n", argv[1]);
        return 1;
    }
    std::set<unsigned> colours;
    double sum = 0, sumSq = 0;
    size_t count = static_cast<size_t>(w) * h;
    for (size_t i = 0; i < count; ++i) {
        unsigned char r = px[i * 3], g = px[i * 3 + 1], b = px[i * 3 + 2];
        colours.insert((r << 16) | (g << 8) | b);
        double lum = 0.2126 * r + 0.7152 * g + 0.0722 * b;
        sum += lum;
        sumSq += lum * lum;
    }
    // A row is a text row when at least 12 neighbouring pixel pairs differ in luminance by
    // more than 60 (anti-aliased glyph strokes on a dark background).
    auto lumAt = [&](int x, int y) {
        const unsigned char* p = px + (static_cast<size_t>(y) * w + x) * 3;
        return 0.2126 * p[0] + 0.7152 * p[1] + 0.0722 * p[2];
    };
    int textRows = 0;
    for (int y = 0; y < h; ++y) {
        int edges = 0;
        for (int x = 1; x < w; ++x)
            if (std::fabs(lumAt(x, y) - lumAt(x - 1, y)) > 60) ++edges;
        if (edges >= 12) ++textRows;
    }
    stbi_image_free(px);
    double mean = sum / count;
    double sd = std::sqrt(std::max(0.0, sumSq / count - mean * mean));
    std::printf(
        "png_check: %dx%d, %zu distinct colours, luminance mean %.1f sd %.1f, %d text rows\n", w, h,
        colours.size(), mean, sd, textRows);
    bool ok =
        static_cast<int>(colours.size()) >= minColours && sd >= 8.0 && textRows >= minTextRows;
    if (!ok)
        std::printf("png_check: FAIL (need >= %d colours, sd >= 8 and >= %d text rows)\n",
                    minColours, minTextRows);
    return ok ? 0 : 1;
}
