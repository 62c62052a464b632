#include "exr_imf.h"

#include <ImfChannelList.h>
#include <ImfFrameBuffer.h>
#include <ImfHeader.h>
#include <ImfInputFile.h>
#include <ImfOutputFile.h>
#include <ImfStandardAttributes.h>
#include <ImfStringAttribute.h>
#include <half.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

namespace {
const char *kNames[4] = {"R", "G", "B", "A"};
}

extern "C" int tc_exr_read_imf(const char *path, tc_image *out, char *err, size_t err_len) {
    try {
        Imf::InputFile file(path);
        const Imath::Box2i dw = file.header().dataWindow();
        const int w = dw.max.x - dw.min.x + 1, h = dw.max.y - dw.min.y + 1;
        const Imf::ChannelList &list = file.header().channels();
        const bool gray = !list.findChannel("R") && list.findChannel("Y");
        const char *names[4] = {gray ? "Y" : "R", gray ? "A" : "G", "B", "A"};
        int n = 0;
        if (gray) {
            n = list.findChannel("A") ? 2 : 1;
        } else if (list.findChannel("R") && list.findChannel("G") && list.findChannel("B")) {
            n = list.findChannel("A") ? 4 : 3;
        }
        if (n == 0) {
            std::snprintf(err, err_len, "no R,G,B (or Y) channels in part 0");
            return 1;
        }
        float *pixels = static_cast<float *>(std::calloc(static_cast<size_t>(w) * h * n, sizeof(float)));
        if (!pixels) {
            std::snprintf(err, err_len, "out of memory");
            return 1;
        }
        Imf::FrameBuffer fb;
        char *origin = reinterpret_cast<char *>(pixels) - (static_cast<ptrdiff_t>(dw.min.y) * w + dw.min.x) * n * sizeof(float);
        for (int c = 0; c < n; c++)
            fb.insert(names[c], Imf::Slice(Imf::FLOAT, origin + c * sizeof(float), n * sizeof(float), static_cast<size_t>(w) * n * sizeof(float)));
        file.setFrameBuffer(fb);
        try {
            file.readPixels(dw.min.y, dw.max.y);
        } catch (const std::exception &e) {
            std::free(pixels);
            throw;
        }
        out->width = w;
        out->height = h;
        out->channels = n;
        out->bit_depth = list.findChannel(names[0])->type == Imf::HALF ? 16 : 32;
        out->pixels = pixels;
        return 0;
    } catch (const std::exception &e) {
        std::snprintf(err, err_len, "%s", e.what());
        return 1;
    }
}

extern "C" int tc_exr_write_imf(const char *path, const float *pixels, int32_t width, int32_t height, int32_t channels,
                                int half_, int compression, const char *const *keys, const char *const *values,
                                int n_attrs, char *err, size_t err_len) {
    try {
        Imf::Header header(width, height);
        header.compression() = compression == 9 ? Imf::DWAB_COMPRESSION : Imf::DWAA_COMPRESSION;
        for (int c = 0; c < channels; c++)
            header.channels().insert(kNames[c], Imf::Channel(half_ ? Imf::HALF : Imf::FLOAT, 1, 1, c == 3));
        for (int i = 0; i < n_attrs; i++) header.insert(keys[i], Imf::StringAttribute(values[i]));
        // OutputFile does not convert: half channels need a half frame buffer.
        const size_t n = static_cast<size_t>(width) * height * channels;
        std::vector<half> halves(half_ ? n : 0);
        for (size_t i = 0; i < halves.size(); i++) halves[i] = half(pixels[i]);
        const char *base = half_ ? reinterpret_cast<const char *>(halves.data()) : reinterpret_cast<const char *>(pixels);
        const size_t element = half_ ? sizeof(half) : sizeof(float);
        Imf::FrameBuffer fb;
        for (int c = 0; c < channels; c++)
            fb.insert(kNames[c], Imf::Slice(half_ ? Imf::HALF : Imf::FLOAT, const_cast<char *>(base + c * element),
                                            channels * element, static_cast<size_t>(width) * channels * element));
        Imf::OutputFile file(path, header);
        file.setFrameBuffer(fb);
        file.writePixels(height);
        return 0;
    } catch (const std::exception &e) {
        std::snprintf(err, err_len, "%s", e.what());
        std::remove(path);
        return 1;
    }
}
