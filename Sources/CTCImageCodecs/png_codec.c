#include "tc_codecs.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tc_image_free(tc_image *image) {
    free(image->pixels);
    image->pixels = NULL;
}

typedef struct {
    jmp_buf jump;
    char *err;
    size_t err_len;
} png_error_state;

static void on_error(png_structp png, png_const_charp message) {
    png_error_state *s = (png_error_state *)png_get_error_ptr(png);
    snprintf(s->err, s->err_len, "%s", message);
    longjmp(s->jump, 1);
}

static void on_warning(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

int tc_png_read(const char *path, tc_image *out, char *err, size_t err_len) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, err_len, "cannot open: %s", strerror(errno));
        return 1;
    }
    unsigned char sig[8];
    if (fread(sig, 1, 8, f) != 8 || png_sig_cmp(sig, 0, 8) != 0) {
        snprintf(err, err_len, "not a PNG file (bad signature)");
        fclose(f);
        return 1;
    }
    png_error_state state;
    state.err = err;
    state.err_len = err_len;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_bytep *volatile rows = NULL;
    void *volatile pixels = NULL;
    if (!png || !info) {
        snprintf(err, err_len, "out of memory");
        png_destroy_read_struct(&png, &info, NULL);
        fclose(f);
        return 1;
    }
    if (setjmp(state.jump)) {
        free(rows);
        free(pixels);
        png_destroy_read_struct(&png, &info, NULL);
        fclose(f);
        return 1;
    }
    png_init_io(png, f);
    png_set_sig_bytes(png, 8);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int depth = png_get_bit_depth(png, info), type = png_get_color_type(png, info);
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (depth == 16) png_set_swap(png); /* host (little-endian) order */
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int channels = png_get_channels(png, info);
    int out_depth = png_get_bit_depth(png, info);
    size_t row_bytes = png_get_rowbytes(png, info);
    if ((uint64_t)w * h > ((uint64_t)1 << 31) || row_bytes != (size_t)w * channels * (out_depth / 8)) {
        snprintf(err, err_len, "unsupported PNG layout (%ux%u, %d channels, %d bits)", w, h, channels, out_depth);
        longjmp(state.jump, 1);
    }
    pixels = malloc(row_bytes * h);
    rows = malloc(sizeof(png_bytep) * h);
    if (!pixels || !rows) {
        snprintf(err, err_len, "out of memory for a %ux%u image", w, h);
        longjmp(state.jump, 1);
    }
    for (png_uint_32 y = 0; y < h; y++) rows[y] = (png_bytep)pixels + y * row_bytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    out->width = (int32_t)w;
    out->height = (int32_t)h;
    out->channels = channels;
    out->bit_depth = out_depth;
    out->pixels = pixels;
    return 0;
}

int tc_png_write(const char *path, const tc_image *image, const char *const *keys, const char *const *values,
                 int n_text, char *err, size_t err_len) {
    static const int types[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                 PNG_COLOR_TYPE_RGB_ALPHA};
    if (image->channels < 1 || image->channels > 4 || (image->bit_depth != 8 && image->bit_depth != 16)) {
        snprintf(err, err_len, "cannot write %d channels at %d bits as PNG", image->channels, image->bit_depth);
        return 1;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, err_len, "cannot create: %s", strerror(errno));
        return 1;
    }
    png_error_state state;
    state.err = err;
    state.err_len = err_len;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &state, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    png_textp volatile text = NULL;
    if (!png || !info) {
        snprintf(err, err_len, "out of memory");
        png_destroy_write_struct(&png, &info);
        fclose(f);
        return 1;
    }
    if (setjmp(state.jump)) {
        free(text);
        png_destroy_write_struct(&png, &info);
        fclose(f);
        return 1;
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)image->width, (png_uint_32)image->height, image->bit_depth,
                 types[image->channels], PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_sRGB(png, info, PNG_sRGB_INTENT_PERCEPTUAL);
    if (n_text > 0) {
        text = calloc((size_t)n_text, sizeof(png_text));
        if (!text) {
            snprintf(err, err_len, "out of memory");
            longjmp(state.jump, 1);
        }
        for (int i = 0; i < n_text; i++) {
            text[i].compression = PNG_TEXT_COMPRESSION_NONE;
            text[i].key = (png_charp)keys[i];
            text[i].text = (png_charp)values[i];
        }
        png_set_text(png, info, text, n_text);
    }
    png_write_info(png, info);
    if (image->bit_depth == 16) png_set_swap(png);
    size_t row_bytes = (size_t)image->width * image->channels * (image->bit_depth / 8);
    for (int32_t y = 0; y < image->height; y++) png_write_row(png, (png_const_bytep)image->pixels + y * row_bytes);
    png_write_end(png, NULL);
    free(text);
    png_destroy_write_struct(&png, &info);
    if (fclose(f) != 0) {
        snprintf(err, err_len, "cannot finish writing: %s", strerror(errno));
        return 1;
    }
    return 0;
}

int tc_png_text(const char *path, const char *key, char *out, size_t out_len) {
    char err[256];
    FILE *f = fopen(path, "rb");
    if (!f) return 1;
    png_error_state state;
    state.err = err;
    state.err_len = sizeof err;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    volatile int found = 1;
    if (png && info && !setjmp(state.jump)) {
        png_init_io(png, f);
        png_read_info(png, info);
        png_textp text;
        int n = 0;
        png_get_text(png, info, &text, &n);
        for (int i = 0; i < n; i++) {
            if (strcmp(text[i].key, key) == 0) {
                snprintf(out, out_len, "%s", text[i].text);
                found = 0;
                break;
            }
        }
    }
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    return found;
}
