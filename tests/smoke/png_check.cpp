// Checks that a screenshot is not blank: enough distinct colours and a real spread of
// pixel values. Prints what it measured; exits 1 when the image fails.
#include <stb_image.h>

#include <cmath>
#include <cstdio>
#include <set>

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: png_check FILE.png [min_colours]\n");
        return 2;
    }
    int minColours = argc > 2 ? std::atoi(argv[2]) : 64;
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
    stbi_image_free(px);
    double mean = sum / count;
    double sd = std::sqrt(std::max(0.0, sumSq / count - mean * mean));
    std::printf("png_check: %dx%d, %zu distinct colours, luminance mean %.1f sd %.1f\n", w, h,
                colours.size(), mean, sd);
    bool ok = static_cast<int>(colours.size()) >= minColours && sd >= 8.0;
    if (!ok) std::printf("png_check: FAIL (need >= %d colours and sd >= 8)\n", minColours);
    return ok ? 0 : 1;
}
