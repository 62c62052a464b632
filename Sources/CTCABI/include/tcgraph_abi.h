/*
 * tcgraph plugin ABI — version 1.0. C only, nothing Swift-specific.
 *
 * Shape (after OpenFX): a plugin library exports ONE function, `tcgraph_plugin_entry`, returning a
 * static `tc_plugin` that lists node descriptors. The host validates graphs against the
 * descriptors and calls `tc_node_desc.run` with a `tc_run_context`: parameter values, input
 * bundles, empty output bundles, and the host service table `tc_host` (logging, progress,
 * cancellation, bundles, tensors, the shared weight store, scratch memory).
 *
 * Versioning: `abi_major` changes when any existing layout or meaning changes; a plugin whose
 * major differs from the host's is refused. `abi_minor` grows when fields or functions are APPENDED
 * to a struct (never inserted). A reader uses an appended field only when the struct's producer
 * has that minor: plugins check `host->abi_minor` for `tc_host` and `tc_run_context`, the host
 * checks `tc_plugin.abi_minor` for the plugin's descriptors. `tc_plugin.abi_major/abi_minor` are
 * its first two fields in every version so any host can read them.
 *
 * Threading: the host calls `run` of one node at a time from one thread; a node may use threads
 * inside `run` and may call `progress`/`cancelled`/`log` from any of them.
 *
 * Ownership in one sentence: whoever owns a `tc_tensor *` calls its `release` exactly once (release
 * may be NULL for static data); everything else handed across (strings, bundles, descriptors,
 * weight handles) stays owned by the side that made it.
 */
#ifndef TCGRAPH_ABI_H
#define TCGRAPH_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TC_ABI_MAJOR 1
#define TC_ABI_MINOR 0

/* The one symbol a plugin library exports: `const tc_plugin *tcgraph_plugin_entry(void)`. */
#define TC_PLUGIN_ENTRY_SYMBOL "tcgraph_plugin_entry"

#if defined(_WIN32)
#define TC_EXPORT __declspec(dllexport)
#else
#define TC_EXPORT __attribute__((visibility("default")))
#endif

/* Pointers are non-NULL unless marked TC_NULLABLE (clang checks it; other compilers ignore it). */
#if defined(__clang__)
#define TC_NULLABLE _Nullable
#define TC_NONNULL _Nonnull
#pragma clang assume_nonnull begin
#else
#define TC_NULLABLE
#define TC_NONNULL
#endif

/* ------------------------------------------------------------------------------------------- */
/* Tensors: the field layout of DLPack's DLManagedTensor (DLTensor + manager_ctx + deleter), so a */
/* `tc_tensor *` can be handed to DLPack-speaking tools without a copy.                          */

typedef enum { TC_DEVICE_CPU = 1 } tc_device_type; /* DLPack kDLCPU */

typedef struct tc_device {
    int32_t device_type; /* tc_device_type */
    int32_t device_id;
} tc_device;

typedef enum {
    TC_DTYPE_INT = 0,   /* DLPack kDLInt */
    TC_DTYPE_UINT = 1,  /* kDLUInt */
    TC_DTYPE_FLOAT = 2, /* kDLFloat */
    TC_DTYPE_BFLOAT = 4 /* kDLBfloat */
} tc_dtype_code;

typedef struct tc_dtype {
    uint8_t code;   /* tc_dtype_code */
    uint8_t bits;   /* 8, 16, 32, 64 */
    uint16_t lanes; /* always 1 here */
} tc_dtype;

typedef struct tc_tensor {
    void *TC_NULLABLE data; /* first element is at (char *)data + byte_offset */
    tc_device device;     /* CPU only in version 1 */
    int32_t ndim;
    tc_dtype dtype;
    int64_t *shape;       /* ndim entries */
    int64_t *TC_NULLABLE strides; /* ndim entries, in ELEMENTS, non-negative; NULL = compact row-major */
    uint64_t byte_offset;
    void *TC_NULLABLE owner; /* DLPack manager_ctx: whatever keeps `data` (and shape/strides) alive */
    void (*TC_NULLABLE release)(struct tc_tensor *self); /* DLPack deleter: frees the tensor and this struct */
} tc_tensor;

/* ------------------------------------------------------------------------------------------- */
/* Node descriptors: static data the plugin owns for its whole lifetime.                        */

/* What flows along an edge (an input accepts only an output of the same kind). */
typedef enum {
    TC_KIND_IMAGE = 1,  /* "images": [T,H,W,C] f32, C = 3|4, 0..1; meta colorspace=srgb|linear   */
    TC_KIND_SKETCH = 2, /* "sketch": [T,H,W,1] f32 white lines on black; "present": [T] u8 mask    */
    TC_KIND_LATENT = 3, /* "latents": [T,4,h,w] f32, already multiplied by the scale factor       */
    TC_KIND_COND = 4,   /* conditioning bundle: context, concat latents, fs, unconditional context */
    TC_KIND_REFS = 5,   /* dual-reference decoder features of the first and last frame             */
    TC_KIND_TENSORS = 6 /* named tensors without further contract (tools, tests)                   */
} tc_port_kind;

enum { TC_PORT_OPTIONAL = 1 }; /* tc_port_desc.flags */

typedef struct tc_port_desc {
    const char *name;
    int32_t kind;   /* tc_port_kind */
    uint32_t flags; /* TC_PORT_* */
    const char *doc;
} tc_port_desc;

typedef enum {
    TC_PARAM_INT = 1,    /* value.i                                              */
    TC_PARAM_FLOAT = 2,  /* value.f                                              */
    TC_PARAM_BOOL = 3,   /* value.i = 0|1                                        */
    TC_PARAM_STRING = 4, /* value.s                                              */
    TC_PARAM_ENUM = 5,   /* value.s = the choice, value.i = its index in choices */
    TC_PARAM_PATH = 6    /* value.s: a file path (relative ones: to the working directory) */
} tc_param_type;

enum {                                /* tc_param_desc.flags */
    TC_PARAM_REQUIRED = 1,            /* the graph must set it                                 */
    TC_PARAM_HAS_MIN = 2,             /* INT/FLOAT: value >= min                               */
    TC_PARAM_HAS_MAX = 4,             /* INT/FLOAT: value <= max                               */
    TC_PARAM_READS_FILES = 8          /* PATH naming input files or a numbered sequence
                                         (`####`, `%04d`): their size and modification time
                                         enter the output cache key                            */
};

typedef struct tc_param_desc {
    const char *name;
    int32_t type;              /* tc_param_type */
    uint32_t flags;            /* TC_PARAM_* */
    const char *TC_NULLABLE default_value; /* YAML scalar text; NULL = no default (value.is_set = 0 if omitted) */
    double min, max;           /* with TC_PARAM_HAS_MIN / TC_PARAM_HAS_MAX */
    const char *TC_NULLABLE choices; /* ENUM: "crop|pad|stretch" */
    const char *doc;
} tc_param_desc;

/* A validated, typed parameter value (see tc_param_type for which field is used). */
typedef struct tc_value {
    int32_t is_set; /* 0: optional parameter without default, left out of the graph */
    int32_t type;   /* tc_param_type */
    int64_t i;
    double f;
    const char *TC_NULLABLE s; /* valid during run */
} tc_value;

typedef int32_t tc_status;
enum { TC_OK = 0, TC_ERROR = 1, TC_CANCELLED = 2 };

enum {                         /* tc_node_desc.flags */
    TC_NODE_SIDE_EFFECTS = 1   /* acts outside the graph (writes files): always runs, never cached */
};

typedef struct tc_run_context tc_run_context;

typedef struct tc_node_desc {
    const char *type; /* unique node type name, e.g. "Load" */
    int32_t version;  /* bump when outputs change for the same inputs: part of the cache key */
    uint32_t flags;   /* TC_NODE_* */
    const char *doc;  /* first line: summary; the rest: details, shown by `tcgraph nodes TYPE` */
    int32_t n_inputs;
    const tc_port_desc *inputs;
    int32_t n_outputs;
    const tc_port_desc *outputs;
    int32_t n_params;
    const tc_param_desc *params;
    /* Fill ctx->outputs from ctx->inputs and ctx->params. On failure call host->set_error and
       return TC_ERROR; when host->cancelled() says so, return TC_CANCELLED. */
    tc_status (*run)(const tc_run_context *ctx);
    void *TC_NULLABLE user_data; /* handed back as ctx->node->user_data */
} tc_node_desc;

typedef struct tc_plugin {
    uint32_t abi_major; /* = TC_ABI_MAJOR; these two fields come first in every ABI version */
    uint32_t abi_minor; /* = TC_ABI_MINOR */
    const char *name;   /* node family, e.g. "Load" */
    const char *version;
    int32_t n_nodes;
    const tc_node_desc *TC_NONNULL const *TC_NONNULL nodes;
} tc_plugin;

typedef const tc_plugin *TC_NONNULL (*tc_plugin_entry_fn)(void);

/* ------------------------------------------------------------------------------------------- */
/* Host services.                                                                               */

typedef struct tc_call tc_call;       /* one running node; valid during run                    */
typedef struct tc_bundle tc_bundle;   /* named tensors + string metadata, owned by the host    */
typedef struct tc_weights tc_weights; /* one opened weight file, shared by every node of a run */

enum { TC_LOG_DEBUG = 0, TC_LOG_INFO = 1, TC_LOG_WARNING = 2, TC_LOG_ERROR = 3 };

typedef struct tc_host {
    uint32_t abi_major;
    uint32_t abi_minor;

    /* Reporting. Messages are UTF-8 and copied by the host. */
    void (*log)(tc_call *call, int32_t level, const char *message);
    /* `done` of `total` units of work; the host draws bars and ETAs from it. */
    void (*progress)(tc_call *call, int64_t done, int64_t total, const char *message);
    /* Nonzero once the user asked to stop (Ctrl-C): check it inside long loops. */
    int32_t (*cancelled)(tc_call *call);
    /* The failure message the host prints with the node's name; call before returning TC_ERROR. */
    void (*set_error)(tc_call *call, const char *message);
    /* Facts about the run: "graph" (name), "graph_file", "version" (tcgraph). NULL when unknown. */
    const char *TC_NULLABLE (*TC_NONNULL run_info)(tc_call *call, const char *key);

    /* Bundles. Strings and tensors returned are borrowed: valid while the bundle is. */
    int32_t (*bundle_tensor_count)(const tc_bundle *bundle);
    const char *TC_NONNULL (*TC_NONNULL bundle_tensor_name)(const tc_bundle *bundle, int32_t index);
    const tc_tensor *TC_NULLABLE (*TC_NONNULL bundle_tensor)(const tc_bundle *bundle, const char *name); /* NULL: none */
    int32_t (*bundle_meta_count)(const tc_bundle *bundle);
    const char *TC_NONNULL (*TC_NONNULL bundle_meta_key)(const tc_bundle *bundle, int32_t index);
    const char *TC_NULLABLE (*TC_NONNULL bundle_meta)(const tc_bundle *bundle, const char *key); /* NULL: none */
    /* Adds (or replaces) a tensor; the bundle takes ownership of `tensor` even when this fails.
       Returns TC_OK, or TC_ERROR with the reason given to set_error (bad dtype/device/strides). */
    tc_status (*bundle_put_tensor)(tc_call *call, tc_bundle *bundle, const char *name, tc_tensor *tensor);
    void (*bundle_put_meta)(tc_bundle *bundle, const char *key, const char *value);

    /* Tensors. A new contiguous CPU tensor (uninitialised) owned by the caller. */
    tc_tensor *TC_NULLABLE (*TC_NONNULL tensor_new)(tc_dtype dtype, int32_t ndim, const int64_t *TC_NULLABLE shape);
    /* A new owned reference to the same memory as a tensor the host handed out (bundle inputs,
       weights, tensor_new), to keep it past the call without copying; NULL for other tensors. */
    tc_tensor *TC_NULLABLE (*TC_NONNULL tensor_share)(const tc_tensor *tensor);

    /* Weight store. Opens the first existing file among `candidates` — an absolute path is taken
       as is, a relative name is looked up in the model folders (`--models DIR`, $TCGRAPH_MODELS,
       ~/.cache/tcgraph/models). A file is opened once per run however many nodes ask for it.
       NULL when none exists or it cannot be read: the error (naming the files looked for, the
       folders, and `where_to_get`) is already set; return TC_ERROR. Valid until the run ends. */
    const tc_weights *TC_NULLABLE (*TC_NONNULL weights_open)(tc_call *call, const char *TC_NONNULL const *TC_NONNULL candidates, int32_t n_candidates,
                                      const char *where_to_get);
    const char *TC_NONNULL (*TC_NONNULL weights_path)(const tc_weights *weights);
    int32_t (*weights_count)(const tc_weights *weights);
    const char *TC_NONNULL (*TC_NONNULL weights_key)(const tc_weights *weights, int32_t index);
    int32_t (*weights_contains)(const tc_weights *weights, const char *key);
    /* A tensor by checkpoint key, owned by the caller: a zero-copy view of the mapped file when
       `dtype` is the stored one or {0,0,0} ("as stored"), else a converted copy. NULL with the
       error set when the key is missing. */
    tc_tensor *TC_NULLABLE (*TC_NONNULL weights_tensor)(tc_call *call, const tc_weights *weights, const char *key, tc_dtype dtype);

    /* Scratch memory, 64-byte aligned, freed by the host when run returns. NULL on exhaustion. */
    void *TC_NULLABLE (*TC_NONNULL scratch_alloc)(tc_call *call, size_t bytes);
} tc_host;

struct tc_run_context {
    const tc_host *host;
    tc_call *call;
    const tc_node_desc *node;
    const char *node_name;           /* the node's id in the graph, for messages */
    const tc_value *params;          /* node->n_params values, in descriptor order */
    const tc_bundle *TC_NULLABLE const *TC_NONNULL inputs; /* node->n_inputs; NULL for an unconnected optional input */
    tc_bundle *TC_NONNULL const *TC_NONNULL outputs; /* node->n_outputs empty bundles to fill */
};

/* ------------------------------------------------------------------------------------------- */
/* Small helpers shared by host and plugins (defined in tc_abi.c).                              */

/* "IMAGE", "SKETCH", …; "?" for an unknown kind. */
const char *tc_kind_name(int32_t kind);
/* "f32", "f16", "bf16", "f64", "i64", "i32", "u8", …; "?" otherwise. */
const char *tc_dtype_name(tc_dtype dtype);
/* Product of the shape (1 for ndim 0). */
int64_t tc_tensor_count(const tc_tensor *tensor);
/* Nonzero when strides are NULL or equal compact row-major strides. */
int32_t tc_tensor_is_compact(const tc_tensor *tensor);

#if defined(__clang__)
#pragma clang assume_nonnull end
#endif

#ifdef __cplusplus
}
#endif

#endif /* TCGRAPH_ABI_H */
