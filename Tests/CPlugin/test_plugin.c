/*
 * A tcgraph plugin in plain C (C99), built by the tests with the system C compiler against
 * Sources/CTCABI/include/tcgraph_abi.h (+ its helpers, tc_abi.c). It proves the ABI needs nothing Swift-specific:
 * host-allocated tensors, bundles with metadata, progress, cancellation, errors, scratch memory,
 * the weight store, and passing IMAGE frames to the Swift Write node.
 *
 * -DTEST_ABI_MAJOR=N builds a copy that claims another ABI major (to test refusal).
 */
#define _POSIX_C_SOURCE 200809L
#include "tcgraph_abi.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#ifndef TEST_ABI_MAJOR
#define TEST_ABI_MAJOR TC_ABI_MAJOR
#endif

static tc_tensor *new_f32(const tc_host *host, int32_t ndim, const int64_t *shape) {
    tc_dtype f32 = {TC_DTYPE_FLOAT, 32, 1};
    return host->tensor_new(f32, ndim, shape);
}

/* CSource: values[i] = i * scale, i < n. */
static tc_status source_run(const tc_run_context *ctx) {
    const tc_host *h = ctx->host;
    int64_t n = ctx->params[0].i;
    double scale = ctx->params[1].f;
    tc_tensor *t = new_f32(h, 1, &n);
    if (!t) {
        h->set_error(ctx->call, "tensor_new failed");
        return TC_ERROR;
    }
    float *v = (float *)t->data;
    for (int64_t i = 0; i < n; i++) v[i] = (float)(i * scale);
    if (h->bundle_put_tensor(ctx->call, ctx->outputs[0], "values", t) != TC_OK) return TC_ERROR;
    h->bundle_put_meta(ctx->outputs[0], "made_by", "c");
    return TC_OK;
}

/* CScale: values * factor (+ offset from an optional second input's first value), through scratch
   memory, reporting progress and honouring cancellation per element. */
static tc_status scale_run(const tc_run_context *ctx) {
    const tc_host *h = ctx->host;
    const tc_tensor *in = h->bundle_tensor(ctx->inputs[0], "values");
    if (!in || in->dtype.code != TC_DTYPE_FLOAT || in->dtype.bits != 32 || in->ndim != 1) {
        h->set_error(ctx->call, "input 'data' needs a 1-D f32 tensor 'values'");
        return TC_ERROR;
    }
    double factor = ctx->params[0].f;
    if (factor == 0) {
        h->set_error(ctx->call, "factor 0 would erase the data");
        return TC_ERROR;
    }
    float offset = 0;
    if (ctx->inputs[1]) {
        const tc_tensor *o = h->bundle_tensor(ctx->inputs[1], "values");
        if (o && o->shape[0] > 0) offset = ((const float *)((const char *)o->data + o->byte_offset))[0];
    }
    int64_t n = in->shape[0];
    int64_t stride = in->strides ? in->strides[0] : 1;
    float *scratch = (float *)h->scratch_alloc(ctx->call, (size_t)(n > 0 ? n : 1) * sizeof(float));
    const float *src = (const float *)((const char *)in->data + in->byte_offset);
    for (int64_t i = 0; i < n; i++) {
        if (h->cancelled(ctx->call)) return TC_CANCELLED;
        scratch[i] = (float)(src[i * stride] * factor) + offset;
        h->progress(ctx->call, i + 1, n, "scaling");
    }
    tc_tensor *out = new_f32(h, 1, &n);
    memcpy(out->data, scratch, (size_t)n * sizeof(float));
    const char *made_by = h->bundle_meta(ctx->inputs[0], "made_by");
    char note[64];
    snprintf(note, sizeof note, "%s+scaled", made_by ? made_by : "?");
    h->bundle_put_meta(ctx->outputs[0], "made_by", note);
    h->log(ctx->call, TC_LOG_INFO, "scaled");
    return h->bundle_put_tensor(ctx->call, ctx->outputs[0], "values", out);
}

/* CGradient: one IMAGE frame, horizontal ramp in red, vertical in green, blue = 0.25. */
static tc_status gradient_run(const tc_run_context *ctx) {
    const tc_host *h = ctx->host;
    int64_t shape[4] = {1, ctx->params[1].i, ctx->params[0].i, 3};
    tc_tensor *t = new_f32(h, 4, shape);
    float *v = (float *)t->data;
    for (int64_t y = 0; y < shape[1]; y++)
        for (int64_t x = 0; x < shape[2]; x++) {
            float *p = v + (y * shape[2] + x) * 3;
            p[0] = (float)x / (float)(shape[2] > 1 ? shape[2] - 1 : 1);
            p[1] = (float)y / (float)(shape[1] > 1 ? shape[1] - 1 : 1);
            p[2] = 0.25f;
        }
    h->bundle_put_meta(ctx->outputs[0], "colorspace", "srgb");
    h->bundle_put_meta(ctx->outputs[0], "seed", "42");
    return h->bundle_put_tensor(ctx->call, ctx->outputs[0], "images", t);
}

/* CSlow: sleeps `steps` × 10 ms, checking cancellation each step. */
static tc_status slow_run(const tc_run_context *ctx) {
    const tc_host *h = ctx->host;
    int64_t steps = ctx->params[0].i;
    for (int64_t i = 0; i < steps; i++) {
        if (h->cancelled(ctx->call)) return TC_CANCELLED;
        struct timespec ten_ms = {0, 10000000};
        nanosleep(&ten_ms, NULL);
        h->progress(ctx->call, i + 1, steps, "waiting");
    }
    int64_t one = 1;
    tc_tensor *t = new_f32(h, 1, &one);
    ((float *)t->data)[0] = (float)steps;
    return h->bundle_put_tensor(ctx->call, ctx->outputs[0], "values", t);
}

/* CWeight: one tensor of a weight file through the host's store, optionally converted. */
static tc_status weight_run(const tc_run_context *ctx) {
    const tc_host *h = ctx->host;
    const char *candidates[2] = {ctx->params[0].s, "fallback-model.safetensors"};
    const tc_weights *w = h->weights_open(ctx->call, candidates, 2, "the test fixture");
    if (!w) return TC_ERROR;
    tc_dtype want = {0, 0, 0};
    if (strcmp(ctx->params[2].s, "f16") == 0) want = (tc_dtype){TC_DTYPE_FLOAT, 16, 1};
    if (strcmp(ctx->params[2].s, "f32") == 0) want = (tc_dtype){TC_DTYPE_FLOAT, 32, 1};
    tc_tensor *t = h->weights_tensor(ctx->call, w, ctx->params[1].s, want);
    if (!t) return TC_ERROR;
    char count[32];
    snprintf(count, sizeof count, "%d", h->weights_count(w));
    h->bundle_put_meta(ctx->outputs[0], "keys", count);
    h->bundle_put_meta(ctx->outputs[0], "file", h->weights_path(w));
    h->bundle_put_meta(ctx->outputs[0], "dtype", tc_dtype_name(t->dtype));
    return h->bundle_put_tensor(ctx->call, ctx->outputs[0], "values", t);
}

static const tc_port_desc data_out[] = {{"data", TC_KIND_TENSORS, 0, "values [n] f32"}};
static const tc_port_desc scale_in[] = {{"data", TC_KIND_TENSORS, 0, "values to scale"},
                                        {"offset", TC_KIND_TENSORS, TC_PORT_OPTIONAL, "first value is added"}};
static const tc_port_desc image_out[] = {{"image", TC_KIND_IMAGE, 0, "a gradient frame"}};

static const tc_param_desc source_params[] = {
    {"n", TC_PARAM_INT, TC_PARAM_HAS_MIN | TC_PARAM_HAS_MAX, "4", 1, 1000, NULL, "how many values"},
    {"scale", TC_PARAM_FLOAT, 0, "1.0", 0, 0, NULL, "step between values"},
};
static const tc_param_desc scale_params[] = {
    {"factor", TC_PARAM_FLOAT, TC_PARAM_REQUIRED, NULL, 0, 0, NULL, "multiplier"},
    {"mode", TC_PARAM_ENUM, 0, "fast", 0, 0, "fast|exact", "unused choice, for validation tests"},
};
static const tc_param_desc gradient_params[] = {
    {"width", TC_PARAM_INT, TC_PARAM_HAS_MIN, "8", 1, 0, NULL, "frame width"},
    {"height", TC_PARAM_INT, TC_PARAM_HAS_MIN, "4", 1, 0, NULL, "frame height"},
};
static const tc_param_desc slow_params[] = {
    {"steps", TC_PARAM_INT, TC_PARAM_HAS_MIN, "10", 0, 0, NULL, "10 ms steps"},
};
static const tc_param_desc weight_params[] = {
    {"model", TC_PARAM_PATH, TC_PARAM_REQUIRED, NULL, 0, 0, NULL, "weight file (name or path)"},
    {"key", TC_PARAM_STRING, TC_PARAM_REQUIRED, NULL, 0, 0, NULL, "checkpoint key"},
    {"as", TC_PARAM_ENUM, 0, "stored", 0, 0, "stored|f16|f32", "dtype to ask for"},
};

static const tc_node_desc source = {"CSource", 1, 0, "Values 0, s, 2s, … (plain C).", 0, NULL, 1, data_out, 2,
                                    source_params, source_run, NULL};
static const tc_node_desc scale = {"CScale", 1, 0, "Multiply values (plain C).", 2, scale_in, 1, data_out, 2,
                                   scale_params, scale_run, NULL};
static const tc_node_desc gradient = {"CGradient", 1, 0, "A gradient IMAGE frame (plain C).", 0, NULL, 1, image_out, 2,
                                      gradient_params, gradient_run, NULL};
static const tc_node_desc slow = {"CSlow", 1, 0, "Sleeps, checking cancellation (plain C).", 0, NULL, 1, data_out, 1,
                                  slow_params, slow_run, NULL};
static const tc_node_desc weight = {"CWeight", 1, 0, "A tensor from the weight store (plain C).", 0, NULL, 1, data_out,
                                    3, weight_params, weight_run, NULL};
static const tc_node_desc *const nodes[] = {&source, &scale, &gradient, &slow, &weight};

static const tc_plugin plugin = {TEST_ABI_MAJOR, TC_ABI_MINOR, "CTest", "1.0", 5, nodes};

TC_EXPORT const tc_plugin *tcgraph_plugin_entry(void) { return &plugin; }
