#include "tc_codecs.h"
#include "exr_imf.h"

#include <OpenEXR/openexr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    char *err;
    size_t err_len;
} exr_error_state;

/* OpenEXR reports the detailed message through this callback before returning the code. */
static void on_error(exr_const_context_t ctxt, exr_result_t code, const char *msg) {
    void *user = NULL;
    exr_get_user_data(ctxt, &user);
    exr_error_state *s = (exr_error_state *)user;
    if (s && s->err_len) snprintf(s->err, s->err_len, "%s (%s)", msg, exr_get_error_code_as_string(code));
}

static void fail(char *err, size_t err_len, exr_result_t rv, const char *what) {
    if (err_len && err[0] == 0) snprintf(err, err_len, "%s: %s", what, exr_get_default_error_message(rv));
}

static int channel_slot(const char *name, int gray) {
    if (gray) return strcmp(name, "Y") == 0 ? 0 : strcmp(name, "A") == 0 ? 1 : -1;
    if (strcmp(name, "R") == 0) return 0;
    if (strcmp(name, "G") == 0) return 1;
    if (strcmp(name, "B") == 0) return 2;
    if (strcmp(name, "A") == 0) return 3;
    return -1;
}

int tc_exr_read(const char *path, tc_image *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    if (err_len) err[0] = 0;
    exr_error_state state = {err, err_len};
    exr_context_initializer_t init = EXR_DEFAULT_CONTEXT_INITIALIZER;
    init.error_handler_fn = on_error;
    init.user_data = &state;
    exr_context_t ctx = NULL;
    exr_result_t rv = exr_start_read(&ctx, path, &init);
    if (rv != EXR_ERR_SUCCESS) {
        fail(err, err_len, rv, "cannot read EXR header");
        exr_finish(&ctx);
        return 1;
    }
    exr_storage_t storage;
    exr_attr_box2i_t dw;
    const exr_attr_chlist_t *channels = NULL;
    int32_t lines = 0;
    if ((rv = exr_get_storage(ctx, 0, &storage)) || (rv = exr_get_data_window(ctx, 0, &dw)) ||
        (rv = exr_get_channels(ctx, 0, &channels)) || (rv = exr_get_scanlines_per_chunk(ctx, 0, &lines))) {
        fail(err, err_len, rv, "cannot read EXR header");
        exr_finish(&ctx);
        return 1;
    }
    if (storage != EXR_STORAGE_SCANLINE) {
        snprintf(err, err_len, "only scanline EXR images are supported (this one is tiled or deep)");
        exr_finish(&ctx);
        return 1;
    }
    int gray = 1, have[4] = {0, 0, 0, 0};
    exr_pixel_type_t ptype = EXR_PIXEL_HALF;
    for (int c = 0; c < channels->num_channels; c++)
        if (strcmp(channels->entries[c].name.str, "R") == 0) gray = 0;
    for (int c = 0; c < channels->num_channels; c++) {
        const exr_attr_chlist_entry_t *e = &channels->entries[c];
        int slot = channel_slot(e->name.str, gray);
        if (slot < 0) continue;
        if (e->x_sampling != 1 || e->y_sampling != 1) {
            snprintf(err, err_len, "channel %s is subsampled, which is not supported", e->name.str);
            exr_finish(&ctx);
            return 1;
        }
        have[slot] = 1;
        if (slot == 0) ptype = e->pixel_type;
    }
    int nch = gray ? (have[0] ? (have[1] ? 2 : 1) : 0) : ((have[0] && have[1] && have[2]) ? (have[3] ? 4 : 3) : 0);
    if (nch == 0) {
        snprintf(err, err_len, "no R,G,B (or Y) channels in part 0");
        exr_finish(&ctx);
        return 1;
    }
    int64_t w = (int64_t)dw.max.x - dw.min.x + 1, h = (int64_t)dw.max.y - dw.min.y + 1;
    if (w <= 0 || h <= 0 || w * h > ((int64_t)1 << 31)) {
        snprintf(err, err_len, "bad data window %lldx%lld", (long long)w, (long long)h);
        exr_finish(&ctx);
        return 1;
    }
    /* Decoded planar (one plane per channel) and interleaved afterwards: OpenEXR 3.1's specialised
       interleaving unpackers mis-order RGBA, the generic planar path does not. */
    float *pixels = calloc((size_t)(w * h * nch), sizeof(float));
    float *planes = calloc((size_t)(w * h * nch), sizeof(float));
    if (!pixels || !planes) {
        free(pixels);
        free(planes);
        snprintf(err, err_len, "out of memory for a %lldx%lld image", (long long)w, (long long)h);
        exr_finish(&ctx);
        return 1;
    }
    exr_decode_pipeline_t decoder = EXR_DECODE_PIPELINE_INITIALIZER;
    int initialized = 0;
    for (int64_t y = dw.min.y; y <= dw.max.y; y += lines) {
        exr_chunk_info_t chunk;
        if ((rv = exr_read_scanline_chunk_info(ctx, 0, (int)y, &chunk))) break;
        rv = initialized ? exr_decoding_update(ctx, 0, &chunk, &decoder) : exr_decoding_initialize(ctx, 0, &chunk, &decoder);
        if (rv) break;
        for (int c = 0; c < decoder.channel_count; c++) {
            exr_coding_channel_info_t *ch = &decoder.channels[c];
            int slot = channel_slot(ch->channel_name, gray);
            if (slot >= nch) slot = -1;
            ch->decode_to_ptr = slot < 0 ? NULL : (uint8_t *)(planes + slot * w * h + (chunk.start_y - dw.min.y) * w);
            ch->user_pixel_stride = (int32_t)sizeof(float);
            ch->user_line_stride = (int32_t)(w * sizeof(float));
            ch->user_data_type = EXR_PIXEL_FLOAT;
            ch->user_bytes_per_element = 4;
        }
        if (!initialized) {
            if ((rv = exr_decoding_choose_default_routines(ctx, 0, &decoder))) break;
            initialized = 1;
        }
        if ((rv = exr_decoding_run(ctx, 0, &decoder))) break;
    }
    exr_decoding_destroy(ctx, &decoder);
    if (rv != EXR_ERR_SUCCESS) {
        free(pixels);
        free(planes);
        exr_compression_t compression = EXR_COMPRESSION_NONE;
        exr_get_compression(ctx, 0, &compression);
        exr_finish(&ctx);
        if (rv == EXR_ERR_FEATURE_NOT_IMPLEMENTED && (compression == EXR_COMPRESSION_DWAA || compression == EXR_COMPRESSION_DWAB)) {
            if (err_len) err[0] = 0;
            return tc_exr_read_imf(path, out, err, err_len);
        }
        fail(err, err_len, rv, "cannot decode EXR pixels");
        return 1;
    }
    exr_finish(&ctx);
    for (int64_t p = 0; p < w * h; p++)
        for (int c = 0; c < nch; c++) pixels[p * nch + c] = planes[c * w * h + p];
    free(planes);
    out->width = (int32_t)w;
    out->height = (int32_t)h;
    out->channels = nch;
    out->bit_depth = ptype == EXR_PIXEL_HALF ? 16 : 32;
    out->pixels = pixels;
    return 0;
}

int tc_exr_write(const char *path, const float *pixels, int32_t width, int32_t height, int32_t channels, int half,
                 int compression, const char *const *keys, const char *const *values, int n_attrs, char *err,
                 size_t err_len) {
    static const char *names[4] = {"R", "G", "B", "A"};
    if (err_len) err[0] = 0;
    if (channels != 3 && channels != 4) {
        snprintf(err, err_len, "EXR output needs 3 or 4 channels, got %d", channels);
        return 1;
    }
    if (compression == EXR_COMPRESSION_DWAA || compression == EXR_COMPRESSION_DWAB)
        return tc_exr_write_imf(path, pixels, width, height, channels, half, compression, keys, values, n_attrs, err, err_len);
    float *planes = malloc((size_t)width * height * channels * sizeof(float));
    if (!planes) {
        snprintf(err, err_len, "out of memory");
        return 1;
    }
    for (int64_t p = 0; p < (int64_t)width * height; p++)
        for (int c = 0; c < channels; c++) planes[c * (int64_t)width * height + p] = pixels[p * channels + c];
    exr_error_state state = {err, err_len};
    exr_context_initializer_t init = EXR_DEFAULT_CONTEXT_INITIALIZER;
    init.error_handler_fn = on_error;
    init.user_data = &state;
    exr_context_t ctx = NULL;
    int part = 0;
    exr_result_t rv = exr_start_write(&ctx, path, EXR_WRITE_FILE_DIRECTLY, &init);
    if (rv) {
        fail(err, err_len, rv, "cannot create EXR file");
        free(planes);
        return 1;
    }
    if (!(rv = exr_add_part(ctx, "", EXR_STORAGE_SCANLINE, &part)))
        rv = exr_initialize_required_attr_simple(ctx, part, width, height, (exr_compression_t)compression);
    for (int c = 0; !rv && c < channels; c++)
        rv = exr_add_channel(ctx, part, names[c], half ? EXR_PIXEL_HALF : EXR_PIXEL_FLOAT,
                             c == 3 ? EXR_PERCEPTUALLY_LINEAR : EXR_PERCEPTUALLY_LOGARITHMIC, 1, 1);
    for (int i = 0; !rv && i < n_attrs; i++) rv = exr_attr_set_string(ctx, part, keys[i], values[i]);
    if (!rv) rv = exr_write_header(ctx);
    int32_t lines = 0;
    if (!rv) rv = exr_get_scanlines_per_chunk(ctx, part, &lines);
    exr_encode_pipeline_t encoder = EXR_ENCODE_PIPELINE_INITIALIZER;
    int initialized = 0;
    for (int32_t y = 0; !rv && y < height; y += lines) {
        exr_chunk_info_t chunk;
        if ((rv = exr_write_scanline_chunk_info(ctx, part, y, &chunk))) break;
        rv = initialized ? exr_encoding_update(ctx, part, &chunk, &encoder) : exr_encoding_initialize(ctx, part, &chunk, &encoder);
        if (rv) break;
        for (int c = 0; c < encoder.channel_count; c++) {
            exr_coding_channel_info_t *ch = &encoder.channels[c];
            int slot = channel_slot(ch->channel_name, 0);
            ch->encode_from_ptr = (const uint8_t *)(planes + (size_t)slot * width * height + (size_t)chunk.start_y * width);
            ch->user_pixel_stride = (int32_t)sizeof(float);
            ch->user_line_stride = (int32_t)(width * sizeof(float));
            ch->user_data_type = EXR_PIXEL_FLOAT;
            ch->user_bytes_per_element = 4;
        }
        if (!initialized) {
            if ((rv = exr_encoding_choose_default_routines(ctx, part, &encoder))) break;
            initialized = 1;
        }
        rv = exr_encoding_run(ctx, part, &encoder);
    }
    exr_encoding_destroy(ctx, &encoder);
    free(planes);
    if (rv) {
        fail(err, err_len, rv, "cannot write EXR");
        exr_finish(&ctx);
        return 1;
    }
    rv = exr_finish(&ctx);
    if (rv) {
        fail(err, err_len, rv, "cannot finish EXR");
        return 1;
    }
    return 0;
}

static void silent(exr_const_context_t ctxt, exr_result_t code, const char *msg) {
    (void)ctxt;
    (void)code;
    (void)msg;
}

int tc_exr_string_attr(const char *path, const char *name, char *out, size_t out_len) {
    exr_context_initializer_t init = EXR_DEFAULT_CONTEXT_INITIALIZER;
    init.error_handler_fn = silent;
    exr_context_t ctx = NULL;
    if (exr_start_read(&ctx, path, &init)) {
        exr_finish(&ctx);
        return 1;
    }
    const char *s = NULL;
    int32_t len = 0;
    int rv = exr_attr_get_string(ctx, 0, name, &len, &s);
    if (!rv && s) snprintf(out, out_len, "%.*s", (int)len, s);
    exr_finish(&ctx);
    return rv || !s;
}
