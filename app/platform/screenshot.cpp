#include <glad/gl.h>
#include <stb_image_write.h>

#include <vector>

#include "platform/window.hpp"

namespace cdeck::platform {

std::string SaveScreenshot(const std::string& path, int width, int height) {
    if (width <= 0 || height <= 0) return "empty framebuffer";
    std::vector<unsigned char> pixels(static_cast<size_t>(width) * height * 4);
    glPixelStorei(GL_PACK_ALIGNMENT, 1);
    glReadBuffer(GL_BACK);
    glReadPixels(0, 0, width, height, GL_RGBA, GL_UNSIGNED_BYTE, pixels.data());
    if (glGetError() != GL_NO_ERROR) return "glReadPixels failed";
    for (size_t i = 3; i < pixels.size(); i += 4) pixels[i] = 255;  // the window is opaque
    // GL's origin is bottom-left; PNG rows go top-down.
    stbi_flip_vertically_on_write(1);
    int stride = width * 4;
    if (!stbi_write_png(path.c_str(), width, height, 4, pixels.data(), stride))
        return "cannot write PNG to '" + path + "'";
    return {};
}

}  // namespace cdeck::platform
