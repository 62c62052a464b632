/*
 * Thin C wrappers over libpng and OpenEXR's C core for TCImageIO. They exist because libpng
 * reports errors by longjmp, which must never cross Swift frames; here every error becomes a
 * nonzero return and a message in `err`.
 */
#ifndef TC_CODECS_H
#define TC_CODECS_H

#include <stddef.h>
#include <stdint.h>

/* Interleaved pixels, rows top to bottom, no padding. */
typedef struct tc_image {
    int32_t width, height;
    int32_t channels;  /* 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA */
    int32_t bit_depth; /* PNG: 8 (uint8) or 16 (uint16, host order); EXR: 16 (half) or 32 (float) in the file */
    void *pixels;      /* PNG: uint8/uint16 samples; EXR: always float32 samples (malloc'd) */
} tc_image;

void tc_image_free(tc_image *image);

/* 0 on success. Palette and low-bit-depth images are expanded to 8 bits, tRNS to alpha. */
int tc_png_read(const char *path, tc_image *out, char *err, size_t err_len);
/* Writes `image` (8 or 16 bit, 1–4 channels) with tEXt chunks. */
int tc_png_write(const char *path, const tc_image *image, const char *const *keys, const char *const *values,
                 int n_text, char *err, size_t err_len);
/* The value of tEXt/zTXt/iTXt chunk `key` into `out`; 0 when found. */
int tc_png_text(const char *path, const char *key, char *out, size_t out_len);

/* Reads part 0 of a scanline EXR: channels R,G,B[,A] (or Y[,A]) as float32. */
int tc_exr_read(const char *path, tc_image *out, char *err, size_t err_len);
/* Writes float32 pixels (3 or 4 channels) as half (half != 0) or float channels R,G,B[,A];
   compression is OpenEXR's exr_compression_t value. */
int tc_exr_write(const char *path, const float *pixels, int32_t width, int32_t height, int32_t channels, int half,
                 int compression, const char *const *keys, const char *const *values, int n_attrs, char *err,
                 size_t err_len);
/* The value of string attribute `name` of part 0 into `out`; 0 when found. */
int tc_exr_string_attr(const char *path, const char *name, char *out, size_t out_len);

#endif
