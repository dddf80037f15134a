/* tests/test-configs.c -- every published SANA diffusers checkpoint, config by config (issue 17).
 *
 * The configs of the checkpoints that Efficient-Large-Model / mit-han-lab publish on Hugging Face are
 * copied below as values, with where each came from (no download: the values are facts, written out
 * again here). For each one the test
 *   1. writes config.json into a temporary folder the way save_pretrained writes it (json.dumps with
 *      indent=2 and sorted keys, the keys the publishing diffusers version wrote), and checks that
 *      libsana's loader accepts it and reads every value;
 *   2. writes a weight file with the tensors diffusers' module tree has for that config (names and
 *      shapes derived in tests/configs_tensors.c from diffusers' __init__ code, not from src/models/),
 *      as a sparse file (a header and a hole: no disk, no memory), loads it with the real loader and checks that
 *      libsana asked for exactly those tensors, that the derived shapes are what the modules make
 *      (inner dim = heads x head_dim, GLUMBConv hidden = int(mlp_ratio * D), block count, qk-norm
 *      weights, the position embedding of 2K/4K) and that the parameter count matches the published
 *      file size where the Hub lists it;
 *   3. checks that sana_checkpoint_describe (`sana info DIR`) names the family member.
 * The scheduler and text encoder configs of the pipelines are loaded too, and the 4.8B transformer runs
 * its last block at full width once (zero weights: it must run and give finite values).
 *
 * A published config that libsana does not support goes into `expected_unsupported` with the reason and
 * libsana's message; the test prints that list. Today it is empty: every published config loads.
 */
#define _XOPEN_SOURCE 700
#include "golden.h"
#include "sana.h"
#include "backend/backend.h"
#include "models/controlnet.h"
#include "models/dcae.h"
#include "models/dit.h"
#include "models/gemma2.h"
#include "sampler/sampler.h"
#include "configs_tensors.h"

#include <ftw.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int nchecks, nfail;

static void check(int ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void check(int ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(ok ? "PASS " : "FAIL ", stdout);
    vprintf(fmt, ap);
    fputc('\n', stdout);
    va_end(ap);
    nchecks++;
    if (!ok) nfail++;
}

/* ================================================================== the published configs */

/*
 * Which keys the publishing diffusers version wrote into transformer/config.json (save_pretrained writes
 * every __init__ argument of its version, sorted):
 *   KEYS_032:    0.32.0.dev0, the first uploads (18 keys, no interpolation_scale: diffusers 0.35.2 reads
 *                the default None, no position embedding). Sana_1600M_512px_MultiLing_diffusers, 496 bytes:
 *                https://huggingface.co/Efficient-Large-Model/Sana_1600M_512px_MultiLing_diffusers/blob/main/transformer/config.json
 *   KEYS_032_PE: the same plus "interpolation_scale" (the 2K upload, 526 bytes = 496 + that line; the
 *                1024px MultiLing re-upload of 0.33.0.dev0 with null).
 *   KEYS_033:    0.33.0.dev0 (SANA 1.5, Sprint): every key of SanaTransformer2DModel.__init__ of 0.35.2,
 *                as in the re-upload of Sana_Sprint_0.6B_1024px_diffusers:
 *                https://huggingface.co/deAPI-ai/sanasprint06b1024/blob/main/transformer/config.json
 */
enum { KEYS_032, KEYS_032_PE, KEYS_033 };

typedef struct {
    const char *repo;        /* Efficient-Large-Model/<repo> */
    const char *family;      /* what `sana info` prints */
    const char *source;      /* where the values were read */
    const char *version;     /* _diffusers_version */
    int keys;
    int64_t num_layers, num_attention_heads, num_cross_attention_heads, cross_attention_head_dim, sample_size;
    const char *interpolation_scale; /* its JSON text, NULL: not written (KEYS_032) */
    int qk_norm, guidance_embeds;
    int64_t config_bytes;            /* size of the published config.json, 0: not known */
    double file_gb; int file_bytes_per_param; /* a weight file's size as the Hub lists it (GB, 2 decimals), 0: not known */
} dit_pub;

/* All share: in/out_channels 32, attention_head_dim 32, cross_attention_dim = heads * 32, caption_channels
 * 2304 (Gemma-2 2B), mlp_ratio 2.5, attention_bias false, patch_size 1, norm_elementwise_affine false,
 * norm_eps 1e-6, dropout 0 (scripts/convert_sana_to_diffusers.py, transformer_kwargs). The per-model
 * widths are its model_kwargs: SanaMS_600M_P1_D28 {36 heads, 16 x 72 cross, 28 layers},
 * SanaMS_1600M_P1_D20 / SanaMS1.5_1600M_P1_D20 / SanaSprint_1600M_P1_D20 {70 heads, 20 x 112 cross,
 * 20 layers}, SanaMS1.5_4800M_P1_D60 {70 heads, 20 x 112 cross, 60 layers}; sample_size = image_size // 32;
 * interpolation_scale {512: None, 1024: None, 2048: 1.0, 4096: 2.0}; qk_norm "rms_norm_across_heads" for
 * SANA 1.5 and Sprint; guidance_embeds for Sprint (github huggingface/diffusers, scripts/
 * convert_sana_to_diffusers.py at v0.35.2, unchanged since the Sprint fix 5dbe4f5). */
static const dit_pub dit_pubs[] = {
    {"Sana_600M_512px_diffusers", "SANA 1.0 0.6B 512px",
     "convert script SanaMS_600M_P1_D28, image_size 512; key set of its 0.32.0.dev0 siblings", "0.32.0.dev0",
     KEYS_032, 28, 36, 16, 72, 16, NULL, 0, 0, 0, 0, 0},
    {"Sana_600M_1024px_diffusers", "SANA 1.0 0.6B 1024px",
     "convert script SanaMS_600M_P1_D28, image_size 1024; its vae/config.json is 0.32.0.dev0", "0.32.0.dev0",
     KEYS_032, 28, 36, 16, 72, 32, NULL, 0, 0, 0, 0, 0},
    /* tree/main/transformer: config.json 496 B, diffusion_pytorch_model.fp16.safetensors 3.21 GB */
    {"Sana_1600M_512px_diffusers", "SANA 1.0 1.6B 512px", "HF tree/main/transformer (config.json 496 B)",
     "0.32.0.dev0", KEYS_032, 20, 70, 20, 112, 16, NULL, 0, 0, 496, 3.21, 2},
    {"Sana_1600M_512px_MultiLing_diffusers", "SANA 1.0 1.6B 512px", "HF blob/main/transformer/config.json",
     "0.32.0.dev0", KEYS_032, 20, 70, 20, 112, 16, NULL, 0, 0, 496, 3.21, 2},
    /* the same values as the re-upload deAPI-ai/sana16b1024 (496 B); a refs/pr/2 branch holds a pre-release
     * config (use_pe, expand_ratio, ...) that diffusers does not read: not published on main */
    {"Sana_1600M_1024px_diffusers", "SANA 1.0 1.6B 1024px", "HF re-upload deAPI-ai/sana16b1024 transformer/config.json",
     "0.32.0.dev0", KEYS_032, 20, 70, 20, 112, 32, NULL, 0, 0, 496, 3.21, 2},
    /* 0.33.0.dev0 before Sprint added guidance_embeds / qk_norm / timestep_scale: the 0.32 keys and
     * "interpolation_scale": null (the Hub lists 527 B, one more than this rendering: not explained) */
    {"Sana_1600M_1024px_MultiLing_diffusers", "SANA 1.0 1.6B 1024px",
     "HF blob/a7483d0/transformer/config.json (0.33.0.dev0, interpolation_scale null)", "0.33.0.dev0", KEYS_032_PE,
     20, 70, 20, 112, 32, "null", 0, 0, 0, 0, 0},
    /* tree/main/transformer: config.json 496 B, .bf16 3.21 GB (and an .int4 variant, see below) */
    {"Sana_1600M_1024px_BF16_diffusers", "SANA 1.0 1.6B 1024px", "HF tree/main/transformer (config.json 496 B)",
     "0.32.0.dev0", KEYS_032, 20, 70, 20, 112, 32, NULL, 0, 0, 496, 3.21, 2},
    /* tree/9282f24/transformer: config.json 526 B, diffusion_pytorch_model.bf16.safetensors 3.21 GB */
    {"Sana_1600M_2Kpx_BF16_diffusers", "SANA 1.0 1.6B 2K (2048px)",
     "convert script image_size 2048 (#10340); HF config.json 526 B", "0.32.0.dev0", KEYS_032_PE, 20, 70, 20, 112,
     64, "1.0", 0, 0, 526, 3.21, 2},
    {"Sana_1600M_4Kpx_BF16_diffusers", "SANA 1.0 1.6B 4K (4096px)",
     "convert script image_size 4096 (Sana 4K, #10493: sample_size 128, interpolation_scale 2.0)", "0.32.0.dev0",
     KEYS_032_PE, 20, 70, 20, 112, 128, "2.0", 0, 0, 0, 0, 0},
    {"SANA1.5_1.6B_1024px_diffusers", "SANA 1.5 1.6B 1024px",
     "HF blob/main/transformer/config.json (0.33.0.dev0); convert script SanaMS1.5_1600M_P1_D20", "0.33.0.dev0",
     KEYS_033, 20, 70, 20, 112, 32, "null", 1, 0, 0, 0, 0},
    {"SANA1.5_4.8B_1024px_diffusers", "SANA 1.5 4.8B 1024px", "convert script SanaMS1.5_4800M_P1_D60",
     "0.33.0.dev0", KEYS_033, 60, 70, 20, 112, 32, "null", 1, 0, 0, 0, 0},
    {"Sana_Sprint_0.6B_1024px_diffusers", "SANA-Sprint 0.6B 1024px",
     "HF re-upload deAPI-ai/sanasprint06b1024 transformer/config.json; convert script SanaSprint_600M_P1_D28",
     "0.33.0.dev0", KEYS_033, 28, 36, 16, 72, 32, "null", 1, 1, 0, 0, 0},
    {"Sana_Sprint_1.6B_1024px_diffusers", "SANA-Sprint 1.6B 1024px", "convert script SanaSprint_1600M_P1_D20",
     "0.33.0.dev0", KEYS_033, 20, 70, 20, 112, 32, "null", 1, 1, 0, 0, 0},
};
#define NPUB ((int)(sizeof dit_pubs / sizeof dit_pubs[0]))

/* Published configs libsana refuses: {repo, what, why, the message libsana gives}. None today. */
static const struct { const char *repo, *what, *why, *message; } expected_unsupported[] = {
    {NULL, NULL, NULL, NULL},
};

/* ================================================================== small file helpers */

static char tmproot[64];

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        printf("FAIL cannot write %s\n", path);
        exit(99);
    }
}

static void mkdir_or_die(const char *path)
{
    if (mkdir(path, 0755) != 0) {
        printf("FAIL cannot create %s\n", path);
        exit(99);
    }
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}
static void rm_tree(const char *dir) { nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

/* ================================================================== config.json as save_pretrained writes it */

/* SanaTransformer2DModel: json.dumps(config, indent=2, sort_keys=True) + "\n". */
static char *dit_config_json(const dit_pub *p)
{
    buf b = {0};
    int full = p->keys == KEYS_033;
    int64_t D = p->num_attention_heads * 32;
    bput(&b, "{\n  \"_class_name\": \"SanaTransformer2DModel\",\n  \"_diffusers_version\": \"%s\",\n", p->version);
    bput(&b, "  \"attention_bias\": false,\n  \"attention_head_dim\": 32,\n  \"caption_channels\": 2304,\n");
    bput(&b, "  \"cross_attention_dim\": %lld,\n  \"cross_attention_head_dim\": %lld,\n  \"dropout\": 0.0,\n",
         (long long)D, (long long)p->cross_attention_head_dim);
    if (full)
        bput(&b, "  \"guidance_embeds\": %s,\n  \"guidance_embeds_scale\": 0.1,\n", p->guidance_embeds ? "true" : "false");
    bput(&b, "  \"in_channels\": 32,\n");
    if (p->interpolation_scale) bput(&b, "  \"interpolation_scale\": %s,\n", p->interpolation_scale);
    bput(&b, "  \"mlp_ratio\": 2.5,\n  \"norm_elementwise_affine\": false,\n  \"norm_eps\": 1e-06,\n");
    bput(&b, "  \"num_attention_heads\": %lld,\n  \"num_cross_attention_heads\": %lld,\n  \"num_layers\": %lld,\n",
         (long long)p->num_attention_heads, (long long)p->num_cross_attention_heads, (long long)p->num_layers);
    bput(&b, "  \"out_channels\": 32,\n  \"patch_size\": 1,\n");
    if (full) bput(&b, "  \"qk_norm\": %s,\n", p->qk_norm ? "\"rms_norm_across_heads\"" : "null");
    bput(&b, "  \"sample_size\": %lld%s\n", (long long)p->sample_size, full ? "," : "");
    if (full) bput(&b, "  \"timestep_scale\": 1.0\n");
    bput(&b, "}\n");
    return b.s;
}

/*
 * AutoencoderDC of the SANA pipelines, as the pipeline folders hold it (0.32.0.dev0, 1.28 kB with
 * "_name_or_path"; the mit-han-lab repositories hold it without, 1.21 kB):
 *   https://huggingface.co/Efficient-Large-Model/Sana_600M_1024px_diffusers/blob/main/vae/config.json
 * = scripts/convert_dcae_to_diffusers.py "dc-ae-f32c32-sana-1.0". DC-AE 1.1
 * (mit-han-lab/dc-ae-f32c32-sana-1.1-diffusers, "improved decoder from dc-ae-f32c32-sana-1.0") has the
 * same architecture and config (its config.json is 1.21 kB too; NVlabs/Sana's AEConfig loads it with
 * scale_factor 0.41407). The encoder/decoder shortcut and conv_act_fn keys came later (0.33): absent here.
 */
static char *dcae_config_json(const char *name_or_path)
{
    buf b = {0};
    const char *w = "[\n    128,\n    256,\n    512,\n    512,\n    1024,\n    1024\n  ]";
    const char *t = "[\n    \"ResBlock\",\n    \"ResBlock\",\n    \"ResBlock\",\n    \"EfficientViTBlock\",\n"
                    "    \"EfficientViTBlock\",\n    \"EfficientViTBlock\"\n  ]";
    const char *ms = "[\n    [],\n    [],\n    [],\n    [\n      5\n    ],\n    [\n      5\n    ],\n    [\n      5\n    ]\n  ]";
    bput(&b, "{\n  \"_class_name\": \"AutoencoderDC\",\n  \"_diffusers_version\": \"0.32.0.dev0\",\n");
    if (name_or_path) bput(&b, "  \"_name_or_path\": \"%s\",\n", name_or_path);
    bput(&b, "  \"attention_head_dim\": 32,\n  \"decoder_act_fns\": \"silu\",\n  \"decoder_block_out_channels\": %s,\n", w);
    bput(&b, "  \"decoder_block_types\": %s,\n", t);
    bput(&b, "  \"decoder_layers_per_block\": [\n    3,\n    3,\n    3,\n    3,\n    3,\n    3\n  ],\n");
    bput(&b, "  \"decoder_norm_types\": \"rms_norm\",\n  \"decoder_qkv_multiscales\": %s,\n", ms);
    bput(&b, "  \"downsample_block_type\": \"Conv\",\n  \"encoder_block_out_channels\": %s,\n", w);
    bput(&b, "  \"encoder_block_types\": %s,\n", t);
    bput(&b, "  \"encoder_layers_per_block\": [\n    2,\n    2,\n    2,\n    3,\n    3,\n    3\n  ],\n");
    bput(&b, "  \"encoder_qkv_multiscales\": %s,\n", ms);
    bput(&b, "  \"in_channels\": 3,\n  \"latent_channels\": 32,\n  \"scaling_factor\": 0.41407,\n"
             "  \"upsample_block_type\": \"interpolate\"\n}\n");
    return b.s;
}

/*
 * text_encoder/config.json: transformers' Gemma2Model of google/gemma-2-2b-it (the pipelines take it from
 * Efficient-Large-Model/gemma-2-2b-it, .get_decoder()), written by transformers 4.4x (no "layer_types":
 * layer i slides when i is even). Values: google/gemma-2-2b-it config.json (hidden 2304, 26 layers, 8 heads,
 * 4 kv heads, head_dim 256, intermediate 9216, vocab 256000, sliding_window 4096, query_pre_attn_scalar 256,
 * softcapping 50 / 30); text_encoder/ of the pipelines: model-0000{1,2}-of-00002.safetensors 4.99 GB + 241 MB.
 */
static const char gemma2_config_json[] =
    "{\n  \"_name_or_path\": \"Efficient-Large-Model/gemma-2-2b-it\",\n  \"architectures\": [\n    \"Gemma2Model\"\n  ],\n"
    "  \"attention_bias\": false,\n  \"attention_dropout\": 0.0,\n  \"attn_logit_softcapping\": 50.0,\n"
    "  \"bos_token_id\": 2,\n  \"cache_implementation\": \"hybrid\",\n  \"eos_token_id\": [\n    1,\n    107\n  ],\n"
    "  \"final_logit_softcapping\": 30.0,\n  \"head_dim\": 256,\n  \"hidden_act\": \"gelu_pytorch_tanh\",\n"
    "  \"hidden_activation\": \"gelu_pytorch_tanh\",\n  \"hidden_size\": 2304,\n  \"initializer_range\": 0.02,\n"
    "  \"intermediate_size\": 9216,\n  \"max_position_embeddings\": 8192,\n  \"model_type\": \"gemma2\",\n"
    "  \"num_attention_heads\": 8,\n  \"num_hidden_layers\": 26,\n  \"num_key_value_heads\": 4,\n"
    "  \"pad_token_id\": 0,\n  \"query_pre_attn_scalar\": 256,\n  \"rms_norm_eps\": 1e-06,\n"
    "  \"rope_theta\": 10000.0,\n  \"sliding_window\": 4096,\n  \"torch_dtype\": \"bfloat16\",\n"
    "  \"transformers_version\": \"4.47.0\",\n  \"use_cache\": true,\n  \"vocab_size\": 256000\n}\n";

/*
 * scheduler/scheduler_config.json. SanaPipeline checkpoints: DPMSolverMultistepScheduler(flow_shift=3.0
 * (4K: 6.0), use_flow_sigmas=True, prediction_type="flow_prediction") written by 0.32.0.dev0 (840 B on the
 * Hub; convert script "flow-dpm_solver"). Sprint: SCMScheduler(prediction_type="trigflow", sigma_data=0.5)
 * (convert script; 160 B on the Hub).
 */
static char *dpm_config_json(double flow_shift)
{
    buf b = {0};
    bput(&b, "{\n  \"_class_name\": \"DPMSolverMultistepScheduler\",\n  \"_diffusers_version\": \"0.32.0.dev0\",\n"
             "  \"algorithm_type\": \"dpmsolver++\",\n  \"beta_end\": 0.02,\n  \"beta_schedule\": \"linear\",\n"
             "  \"beta_start\": 0.0001,\n  \"dynamic_thresholding_ratio\": 0.995,\n  \"euler_at_final\": false,\n"
             "  \"final_sigmas_type\": \"zero\",\n  \"flow_shift\": %.1f,\n  \"lambda_min_clipped\": -Infinity,\n"
             "  \"lower_order_final\": true,\n  \"num_train_timesteps\": 1000,\n"
             "  \"prediction_type\": \"flow_prediction\",\n  \"rescale_betas_zero_snr\": false,\n"
             "  \"sample_max_value\": 1.0,\n  \"solver_order\": 2,\n  \"solver_type\": \"midpoint\",\n"
             "  \"steps_offset\": 0,\n  \"thresholding\": false,\n  \"timestep_spacing\": \"linspace\",\n"
             "  \"trained_betas\": null,\n  \"use_beta_sigmas\": false,\n  \"use_exponential_sigmas\": false,\n"
             "  \"use_flow_sigmas\": true,\n  \"use_karras_sigmas\": false,\n  \"use_lu_lambdas\": false,\n"
             "  \"variance_type\": null\n}\n", flow_shift);
    return b.s;
}
static const char scm_config_json[] =
    "{\n  \"_class_name\": \"SCMScheduler\",\n  \"_diffusers_version\": \"0.33.0.dev0\",\n"
    "  \"num_train_timesteps\": 1000,\n  \"prediction_type\": \"trigflow\",\n  \"sigma_data\": 0.5\n}\n";

static char *model_index_json(int sprint)
{
    buf b = {0};
    bput(&b, "{\n  \"_class_name\": \"%s\",\n  \"_diffusers_version\": \"%s\",\n  \"scheduler\": [\n"
             "    \"diffusers\",\n    \"%s\"\n  ],\n  \"text_encoder\": [\n    \"transformers\",\n    \"Gemma2Model\"\n"
             "  ],\n  \"tokenizer\": [\n    \"transformers\",\n    \"GemmaTokenizerFast\"\n  ],\n"
             "  \"transformer\": [\n    \"diffusers\",\n    \"SanaTransformer2DModel\"\n  ],\n"
             "  \"vae\": [\n    \"diffusers\",\n    \"AutoencoderDC\"\n  ]\n}\n",
         sprint ? "SanaSprintPipeline" : "SanaPipeline", sprint ? "0.33.0.dev0" : "0.32.0.dev0",
         sprint ? "SCMScheduler" : "DPMSolverMultistepScheduler");
    return b.s;
}

/* The published file size (GB with 2 decimals, as the Hub shows it) holds params * esize bytes. */
static void check_file_size(const char *what, int64_t params, double gb, int esize)
{
    if (gb <= 0) {
        printf("info %s: %lld parameters (%.1f M); the Hub's file size is not recorded here\n", what,
               (long long)params, params / 1e6);
        return;
    }
    double bytes = (double)params * esize;
    check(fabs(bytes / 1e9 - gb) <= 0.005 + 1e-9, "%s: %lld parameters = %.3f GB at %d bytes each; the Hub lists %.2f GB",
          what, (long long)params, bytes / 1e9, esize, gb);
}

/* ================================================================== the checks */

static const dit_pub *pub_of(const char *repo)
{
    for (int i = 0; i < NPUB; i++)
        if (!strcmp(dit_pubs[i].repo, repo)) return &dit_pubs[i];
    return NULL;
}

/* transformer/config.json: accepted, every value read. */
static void check_dit_config(const dit_pub *p, const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/config.json", dir);
    char *json = dit_config_json(p);
    write_text(path, json);
    if (p->config_bytes)
        check((int64_t)strlen(json) == p->config_bytes, "%s: config.json as save_pretrained writes it is %zu bytes, "
              "the published one %lld", p->repo, strlen(json), (long long)p->config_bytes);
    free(json);
    sana_dit_config c;
    sana_status st = sana_dit_config_load(&c, path);
    if (st != SANA_OK) {
        check(0, "%s: config rejected: %s", p->repo, sana_errmsg());
        return;
    }
    double interp = p->interpolation_scale && strcmp(p->interpolation_scale, "null") ? atof(p->interpolation_scale) : 0;
    int ok = c.num_layers == p->num_layers && c.num_attention_heads == p->num_attention_heads &&
             c.attention_head_dim == 32 && c.num_cross_attention_heads == p->num_cross_attention_heads &&
             c.cross_attention_head_dim == p->cross_attention_head_dim &&
             c.cross_attention_dim == p->num_attention_heads * 32 && c.caption_channels == 2304 &&
             c.in_channels == 32 && c.out_channels == 32 && c.mlp_ratio == 2.5 && c.sample_size == p->sample_size &&
             c.patch_size == 1 && !c.attention_bias && !c.norm_elementwise_affine && c.norm_eps == 1e-6 &&
             c.has_interpolation_scale == (interp > 0) && (interp == 0 || c.interpolation_scale == interp) &&
             (c.qk_norm == SANA_QK_NORM_RMS_ACROSS_HEADS) == p->qk_norm && c.guidance_embeds == p->guidance_embeds &&
             c.timestep_scale == 1.0 && c.guidance_embeds_scale == 0.1;
    check(ok, "%s: config accepted: %lld layers, %lld x 32 = %lld wide, cross %lld x %lld, sample_size %lld, "
          "qk_norm %s, guidance_embeds %d, position embedding %s", p->repo, (long long)c.num_layers,
          (long long)c.num_attention_heads, (long long)(c.num_attention_heads * c.attention_head_dim),
          (long long)c.num_cross_attention_heads, (long long)c.cross_attention_head_dim, (long long)c.sample_size,
          c.qk_norm ? "rms_norm_across_heads" : "null", c.guidance_embeds,
          c.has_interpolation_scale ? (c.interpolation_scale == 2.0 ? "sin-cos, interpolation_scale 2.0"
                                                                     : "sin-cos, interpolation_scale 1.0")
                                    : "none");
}

/* The weights libsana asks for are the tensors of diffusers' module tree for this config. */
static void check_dit_weights(const dit_pub *p, const char *dir, int run_last_block)
{
    tlist l = {0};
    const dit_arch arch = {p->num_layers, p->num_attention_heads, p->num_cross_attention_heads,
                           p->cross_attention_head_dim, p->qk_norm, p->guidance_embeds};
    dit_tensors(&l, &arch);
    char path[512];
    snprintf(path, sizeof path, "%s/diffusion_pytorch_model.safetensors", dir);
    int64_t params = write_sparse_safetensors(path, &l, "BF16", 2);
    sana_dit *m = NULL;
    if (sana_dit_load_recorded(&m, dir, NULL, sana_backend_ref(), SANA_F32) != SANA_OK) {
        check(0, "%s: weights rejected: %s", p->repo, sana_errmsg());
        goto out;
    }
    const sana_weights *w = sana_dit_weights(m);
    int n = 0, qk = 0;
    int64_t ff_hidden = -1;
    const char *key;
    const sana_wt *t;
    for (; sana_weights_each(w, n, &key, &t); n++) {
        if (strstr(key, ".norm_q.weight") || strstr(key, ".norm_k.weight")) qk++;
        if (!strcmp(key, "transformer_blocks.0.ff.conv_point.weight")) ff_hidden = t->shape[1];
    }
    const int64_t D = p->num_attention_heads * 32;
    check(n == l.n, "%s: libsana reads %d tensors, the diffusers module tree has %d (%lld blocks)", p->repo, n, l.n,
          (long long)p->num_layers);
    check(ff_hidden == (int64_t)(2.5 * (double)D), "%s: GLUMBConv hidden int(2.5 * %lld) = %lld (libsana: %lld)",
          p->repo, (long long)D, (long long)(int64_t)(2.5 * (double)D), (long long)ff_hidden);
    check(qk == (p->qk_norm ? 4 * (int)p->num_layers : 0), "%s: %d qk-norm weights (attn1/attn2 norm_q, norm_k)%s",
          p->repo, qk, p->qk_norm ? "" : ": none, qk_norm null");
    check_file_size(p->repo, params, p->file_gb, p->file_bytes_per_param);
    if (run_last_block) {
        /* the last block at full width on one token and one caption token (zero weights): runs, finite */
        const int64_t Dl = D, L = 1;
        float *x = calloc((size_t)Dl, sizeof(float)), *enc = calloc((size_t)(L * Dl), sizeof(float));
        float *temb6 = calloc((size_t)(6 * Dl), sizeof(float));
        for (int64_t i = 0; i < Dl; i++) x[i] = (float)((i % 7) - 3), enc[i] = (float)((i % 5) - 2) / 4;
        int layer = (int)p->num_layers - 1;
        sana_status st = sana_dit_block_forward(m, layer, x, enc, NULL, temb6, 1, 1, 1, L, -1);
        int finite = 1;
        for (int64_t i = 0; i < Dl; i++) finite &= isfinite(x[i]) != 0;
        check(st == SANA_OK && finite, "%s: block %d runs at width %lld with qk-norm (%s)", p->repo, layer,
              (long long)Dl, st == SANA_OK ? (finite ? "finite" : "NaN/Inf") : sana_errmsg());
        free(x), free(enc), free(temb6);
    }
    sana_dit_free(m);
out:
    remove(path);
    free(l.t);
}

static void check_dcae(const char *root)
{
    char dir[256], path[512];
    snprintf(dir, sizeof dir, "%s/dc-ae", root);
    mkdir_or_die(dir);
    snprintf(path, sizeof path, "%s/config.json", dir);
    /* 1.0 and 1.1: the same config; the pipeline copies differ in _name_or_path only */
    static const char *const names[] = {"mit-han-lab/dc-ae-f32c32-sana-1.0-diffusers",
                                        "mit-han-lab/dc-ae-f32c32-sana-1.1-diffusers", NULL};
    for (int v = 0; v < 3; v++) {
        char *json = dcae_config_json(names[v]);
        write_text(path, json);
        if (!names[v]) check(strlen(json) >= 1205 && strlen(json) < 1215, "DC-AE config.json (repository copy): %zu "
                             "bytes, the Hub lists 1.21 kB", strlen(json));
        else check(strlen(json) == 1280, "DC-AE config.json (pipeline copy, %s): %zu bytes, the published "
                   "Sana_600M_512px_diffusers/vae/config.json 1280", names[v], strlen(json));
        free(json);
        sana_dcae_config c;
        sana_status st = sana_dcae_config_load(&c, path);
        int ok = st == SANA_OK && c.n_encoder_stages == 6 && c.n_decoder_stages == 6 && c.latent_channels == 32 &&
                 c.spatial_compression_ratio == 32 && c.upsample_interpolate && !c.downsample_pixel_unshuffle &&
                 c.decoder_block_types[3] == SANA_DCAE_EFFICIENTVIT && c.decoder_block_types[2] == SANA_DCAE_RESBLOCK &&
                 c.decoder_n_scales[5] == 1 && c.decoder_qkv_multiscales[5][0] == 5 && c.scaling_factor == 0.41407 &&
                 c.encoder_out_shortcut && c.decoder_in_shortcut && c.decoder_conv_act_fn == SANA_DCAE_ACT_RELU;
        check(ok, "DC-AE f32c32 config (%s) accepted: 6 stages, 32x32 compression, ResBlock x3 + EfficientViT x3, "
              "interpolate up, conv down, scaling 0.41407%s%s", names[v] ? names[v] : "repository copy",
              st ? ": " : "", st ? sana_errmsg() : "");
    }
    /* standalone repository folder: sana info names it */
    char *text = NULL;
    if (sana_checkpoint_describe(dir, &text) != 0) check(0, "describe DC-AE folder: %s", sana_last_error());
    else check(strstr(text, "family: DC-AE f32c32 SANA 1.0 or 1.1") != NULL, "sana info of a DC-AE repository "
               "folder: \"family: DC-AE f32c32 SANA 1.0 or 1.1\"");
    free(text);

    tlist l = {0};
    dcae_tensors(&l);
    snprintf(path, sizeof path, "%s/diffusion_pytorch_model.safetensors", dir);
    int64_t params = write_sparse_safetensors(path, &l, "F32", 4);
    sana_dcae *m = NULL;
    sana_status st = sana_dcae_load(&m, dir, NULL, sana_backend_ref());
    check(st == SANA_OK, "DC-AE f32c32: the %d tensors of diffusers' AutoencoderDC load%s%s", l.n, st ? ": " : "",
          st ? sana_errmsg() : "");
    /* mit-han-lab/dc-ae-f32c32-sana-1.{0,1}-diffusers: diffusion_pytorch_model.safetensors 1.25 GB (float32) */
    check_file_size("DC-AE f32c32 (encoder + decoder)", params, 1.25, 4);
    if (m) {
        int64_t H = 0, W = 0;
        sana_dcae_decoded_size(m, 32, 32, &H, &W);
        check(H == 1024 && W == 1024, "DC-AE f32c32: a 32x32 latent decodes to %lldx%lld", (long long)H, (long long)W);
    }
    sana_dcae_free(m);
    free(l.t);
    rm_tree(dir);
}

static void check_text_encoder(const char *root)
{
    char dir[256], path[512];
    snprintf(dir, sizeof dir, "%s/text_encoder", root);
    mkdir_or_die(dir);
    snprintf(path, sizeof path, "%s/config.json", dir);
    write_text(path, gemma2_config_json);
    sana_gemma2_config c;
    sana_status st = sana_gemma2_config_load(&c, path);
    int ok = st == SANA_OK && c.hidden_size == 2304 && c.num_hidden_layers == 26 && c.num_attention_heads == 8 &&
             c.num_key_value_heads == 4 && c.head_dim == 256 && c.intermediate_size == 9216 && c.vocab_size == 256000 &&
             c.sliding_window == 4096 && c.query_pre_attn_scalar == 256 && c.attn_logit_softcapping == 50.0 &&
             c.sliding[0] == 1 && c.sliding[1] == 0 && c.sliding[25] == 0;
    check(ok, "Gemma-2 2B text encoder config accepted (2304 wide, 26 layers, 8/4 heads of 256, layers 0, 2, ... "
          "slide)%s%s", st ? ": " : "", st ? sana_errmsg() : "");
    if (st == SANA_OK) sana_gemma2_config_free(&c);
    tlist l = {0};
    gemma2_tensors(&l);
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    int64_t params = write_sparse_safetensors(path, &l, "BF16", 2);
    sana_gemma2 *m = NULL;
    st = sana_gemma2_load_recorded(&m, dir, NULL, sana_backend_ref(), SANA_F32);
    int n = 0;
    if (m) {
        const char *key;
        const sana_wt *t;
        while (sana_weights_each(sana_gemma2_weights(m), n, &key, &t)) n++;
    }
    check(st == SANA_OK && n == l.n, "Gemma-2 2B: libsana reads %d tensors, Gemma2Model has %d%s%s", n, l.n,
          st ? ": " : "", st ? sana_errmsg() : "");
    /* text_encoder/model-00001-of-00002 4.99 GB + model-00002-of-00002 241 MB (bfloat16) */
    check_file_size("Gemma-2 2B text encoder", params, 5.23, 2);
    sana_gemma2_free(m);
    free(l.t);
    rm_tree(dir);
}

static void check_schedulers(const char *root)
{
    char path[512];
    snprintf(path, sizeof path, "%s/scheduler_config.json", root);
    static const double shifts[] = {3.0, 6.0};
    for (int i = 0; i < 2; i++) {
        char *json = dpm_config_json(shifts[i]);
        write_text(path, json);
        free(json);
        sana_sampler *s = NULL;
        sana_status st = sana_sampler_load(&s, path);
        int ok = st == SANA_OK && !strcmp(sana_sampler_kind(s), "dpm") &&
                 sana_sampler_set_timesteps(s, 20, NULL) == SANA_OK && sana_sampler_num_steps(s) == 20;
        check(ok, "DPMSolverMultistepScheduler (flow_shift %.1f%s) accepted, 20 steps%s%s", shifts[i],
              i ? ", 4K" : "", st ? ": " : "", st ? sana_errmsg() : "");
        sana_sampler_free(s);
    }
    write_text(path, scm_config_json);
    sana_sampler *s = NULL;
    sana_status st = sana_sampler_load(&s, path);
    check(st == SANA_OK && !strcmp(sana_sampler_kind(s), "scm") && sana_sampler_sigma_data(s) == 0.5,
          "SCMScheduler (Sprint: trigflow, sigma_data 0.5) accepted%s%s", st ? ": " : "", st ? sana_errmsg() : "");
    sana_sampler_free(s);
    remove(path);
}

/* A pipeline folder of configs only (no weights): `sana info` names the family of each part. */
static void check_describe(const dit_pub *p, const char *root)
{
    char dir[256], path[512];
    snprintf(dir, sizeof dir, "%s/pipe", root);
    mkdir_or_die(dir);
    int sprint = p->guidance_embeds, v11 = p->qk_norm; /* SANA 1.5 and Sprint were converted with DC-AE 1.1 */
    snprintf(path, sizeof path, "%s/model_index.json", dir);
    char *json = model_index_json(sprint);
    write_text(path, json);
    free(json);
    static const char *const sub[] = {"transformer", "vae", "text_encoder", "scheduler"};
    for (int i = 0; i < 4; i++) snprintf(path, sizeof path, "%s/%s", dir, sub[i]), mkdir_or_die(path);
    snprintf(path, sizeof path, "%s/transformer/config.json", dir);
    write_text(path, (json = dit_config_json(p)));
    free(json);
    snprintf(path, sizeof path, "%s/vae/config.json", dir);
    write_text(path, (json = dcae_config_json(v11 ? "mit-han-lab/dc-ae-f32c32-sana-1.1-diffusers"
                                                  : "mit-han-lab/dc-ae-f32c32-sana-1.0-diffusers")));
    free(json);
    snprintf(path, sizeof path, "%s/text_encoder/config.json", dir);
    write_text(path, gemma2_config_json);
    snprintf(path, sizeof path, "%s/scheduler/scheduler_config.json", dir);
    if (sprint) write_text(path, scm_config_json);
    else write_text(path, (json = dpm_config_json(p->sample_size == 128 ? 6.0 : 3.0))), free(json);
    char *text = NULL, want[160], vae[96];
    snprintf(want, sizeof want, "family: %s (published as ", p->family);
    snprintf(vae, sizeof vae, "vae: DC-AE f32c32 SANA %s", v11 ? "1.1" : "1.0");
    if (sana_checkpoint_describe(dir, &text) != 0) check(0, "%s: describe: %s", p->repo, sana_last_error());
    else check(strstr(text, want) && strstr(text, p->repo) && strstr(text, vae) &&
               strstr(text, "text encoder: Gemma-2 2B"), "%s: sana info says \"%s\", \"%s\", Gemma-2 2B", p->repo,
               p->family, vae);
    free(text);
    rm_tree(dir);
}

/*
 * NVIDIA's HED ControlNets for Sana 600M and 1600M 1024px (Efficient-Large-Model/Sana_600M_1024px_ControlNet_HED,
 * Sana_1600M_1024px_ControlNet_HED) as SanaControlNetModel configs. Source: diffusers'
 * scripts/convert_sana_controlnet_to_diffusers.py (read at huggingface/diffusers 009937be), its model_kwargs
 * SanaMS_600M_P1_ControlNet_D7 {36 heads, 16 x 72 cross, 7 layers} and SanaMS_1600M_P1_ControlNet_D7 {70 heads,
 * 20 x 112 cross, 7 layers}, caption_channels 2304, sample_size = image_size // 32 with the default image_size
 * 1024, interpolation_scale {1024: None}, the rest SanaControlNetModel's defaults; not a downloaded config.json
 * (the _diffusers_version written here is a guess). The keys are those of SanaControlNetModel.__init__ in
 * 0.35.2, as save_pretrained writes them.
 */
/* SanaControlNetModel's module tree: the transformer's without scale_shift_table and proj_out, plus
 * input_block and controlnet_blocks.<i> (D x D linears with bias). */
static void controlnet_tensors(tlist *l, const dit_arch *a)
{
    tlist t = {0};
    dit_tensors(&t, a);
    const int64_t D = a->num_attention_heads * 32;
    for (int i = 0; i < t.n; i++)
        if (strcmp(t.t[i].name, "scale_shift_table") && strncmp(t.t[i].name, "proj_out.", 9)) {
            if (l->n == l->cap) {
                l->cap = l->cap ? 2 * l->cap : 256;
                l->t = realloc(l->t, sizeof *l->t * (size_t)l->cap);
                if (!l->t) exit(99);
            }
            l->t[l->n++] = t.t[i];
        }
    for (int i = -1; i < (int)a->num_layers; i++)
        for (int bias = 0; bias < 2; bias++) {
            if (l->n == l->cap) {
                l->cap = 2 * l->cap;
                l->t = realloc(l->t, sizeof *l->t * (size_t)l->cap);
                if (!l->t) exit(99);
            }
            tdesc *d = &l->t[l->n++];
            if (i < 0) snprintf(d->name, sizeof d->name, "input_block.%s", bias ? "bias" : "weight");
            else snprintf(d->name, sizeof d->name, "controlnet_blocks.%d.%s", i, bias ? "bias" : "weight");
            d->nd = bias ? 1 : 2;
            d->shape[0] = D;
            d->shape[1] = D;
        }
    free(t.t);
}

static void check_controlnets(const char *root)
{
    /* params: sum(p.numel()) of SanaControlNetModel(num_layers=7, <the widths>, caption_channels=2304,
     * sample_size=32) built on the meta device with diffusers 0.35.2 */
    static const struct { const char *name, *family; int64_t heads, cross_heads, cross_dim, params; } cn[] = {
        {"Sana_600M_1024px_ControlNet_HED", "ControlNet of 7 blocks over SANA 1.0 0.6B 1024px (as NVIDIA's "
         "Sana_600M_1024px_ControlNet_HED)", 36, 16, 72, 168765696},
        {"Sana_1600M_1024px_ControlNet_HED", "ControlNet of 7 blocks over SANA 1.0 1.6B 1024px (as NVIDIA's "
         "Sana_1600M_1024px_ControlNet_HED)", 70, 20, 112, 631576960},
    };
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/controlnet", root);
    mkdir_or_die(dir);
    snprintf(path, sizeof path, "%s/config.json", dir);
    for (int i = 0; i < 2; i++) {
        buf b = {0};
        bput(&b, "{\n  \"_class_name\": \"SanaControlNetModel\",\n  \"_diffusers_version\": \"0.33.0.dev0\",\n");
        bput(&b, "  \"attention_bias\": false,\n  \"attention_head_dim\": 32,\n  \"caption_channels\": 2304,\n");
        bput(&b, "  \"cross_attention_dim\": %lld,\n  \"cross_attention_head_dim\": %lld,\n  \"dropout\": 0.0,\n",
             (long long)(cn[i].heads * 32), (long long)cn[i].cross_dim);
        bput(&b, "  \"in_channels\": 32,\n  \"interpolation_scale\": null,\n  \"mlp_ratio\": 2.5,\n");
        bput(&b, "  \"norm_elementwise_affine\": false,\n  \"norm_eps\": 1e-06,\n  \"num_attention_heads\": %lld,\n",
             (long long)cn[i].heads);
        bput(&b, "  \"num_cross_attention_heads\": %lld,\n  \"num_layers\": 7,\n  \"out_channels\": 32,\n",
             (long long)cn[i].cross_heads);
        bput(&b, "  \"patch_size\": 1,\n  \"sample_size\": 32\n}\n");
        write_text(path, b.s);
        free(b.s);
        sana_dit_config c;
        sana_status st = sana_controlnet_config_load(&c, path);
        check(st == SANA_OK && c.num_layers == 7 && c.num_attention_heads == cn[i].heads &&
              c.num_cross_attention_heads == cn[i].cross_heads && c.cross_attention_head_dim == cn[i].cross_dim &&
              !c.has_interpolation_scale && c.sample_size == 32 && !c.guidance_embeds && !c.qk_norm,
              "%s: SanaControlNetModel config accepted: 7 blocks, %lld x 32 wide%s%s", cn[i].name,
              (long long)cn[i].heads, st ? ": " : "", st ? sana_errmsg() : "");
        char *text = NULL, want[256];
        snprintf(want, sizeof want, "family: %s", cn[i].family);
        if (sana_checkpoint_describe(dir, &text) != 0) check(0, "describe %s: %s", cn[i].name, sana_last_error());
        else check(strstr(text, want) != NULL, "sana info of a %s folder: \"%s\"", cn[i].name, want);
        free(text);
        /* the weights: every tensor libsana asks for is in diffusers' module tree, with its shape */
        tlist l = {0};
        const dit_arch arch = {7, cn[i].heads, cn[i].cross_heads, cn[i].cross_dim, 0, 0};
        controlnet_tensors(&l, &arch);
        char wpath[700];
        snprintf(wpath, sizeof wpath, "%s/diffusion_pytorch_model.safetensors", dir);
        int64_t params = write_sparse_safetensors(wpath, &l, "F16", 2);
        check(params == cn[i].params, "%s: the module tree has %lld parameters (diffusers: %lld)", cn[i].name,
              (long long)params, (long long)cn[i].params);
        sana_controlnet *m = NULL;
        st = sana_controlnet_load(&m, dir, NULL, sana_backend_ref());
        check(st == SANA_OK, "%s: weights (%d tensors, F16 as the conversion script saves them) accepted%s%s",
              cn[i].name, l.n, st ? ": " : "", st ? sana_errmsg() : "");
        sana_controlnet_free(m);
        remove(wpath);
        free(l.t);
    }
    rm_tree(dir);
}

/* The toy checkpoints are no published family member. */
static void check_describe_unknown(void)
{
    static const char *const tiny[] = {"sana-tiny", "sana-shapes", "sana-tiny-sprint"};
    for (int i = 0; i < 3; i++) {
        char dir[512], *text = NULL;
        snprintf(dir, sizeof dir, "%s/ckpt/%s", golden_dir(), tiny[i]);
        if (sana_checkpoint_describe(dir, &text) != 0) check(0, "describe %s: %s", tiny[i], sana_last_error());
        else check(strstr(text, "family: unknown (not a published config)") && strstr(text, "vae: unknown"),
                   "sana info %s: \"family: unknown (not a published config)\"", tiny[i]);
        free(text);
    }
}

int main(void)
{
    snprintf(tmproot, sizeof tmproot, "/tmp/sana-configs-XXXXXX");
    if (!mkdtemp(tmproot)) {
        printf("FAIL mkdtemp\n");
        return 99;
    }
    char dir[256];
    snprintf(dir, sizeof dir, "%s/transformer", tmproot);
    mkdir_or_die(dir);
    for (int i = 0; i < NPUB; i++) {
        const dit_pub *p = &dit_pubs[i];
        printf("-- %s (%s; %s)\n", p->repo, p->family, p->source);
        check_dit_config(p, dir);
        /* the weights depend on the config only: once per distinct architecture (not per dtype/data sibling) */
        int first = 1;
        for (int j = 0; j < i; j++) {
            const dit_pub *q = &dit_pubs[j];
            if (q->num_layers == p->num_layers && q->num_attention_heads == p->num_attention_heads &&
                q->qk_norm == p->qk_norm && q->guidance_embeds == p->guidance_embeds)
                first = 0;
        }
        if (first) check_dit_weights(p, dir, p == pub_of("SANA1.5_4.8B_1024px_diffusers"));
        check_describe(p, tmproot);
    }
    rm_tree(dir);
    printf("-- VAE, text encoder, schedulers\n");
    check_dcae(tmproot);
    check_text_encoder(tmproot);
    check_schedulers(tmproot);
    printf("-- ControlNets\n");
    check_controlnets(tmproot);
    check_describe_unknown();
    printf("-- published configs libsana does not support:");
    int nuns = 0;
    for (size_t i = 0; i < sizeof expected_unsupported / sizeof expected_unsupported[0]; i++)
        if (expected_unsupported[i].repo)
            printf("\n   %s: %s (%s): %s", expected_unsupported[i].repo, expected_unsupported[i].what,
                   expected_unsupported[i].why, expected_unsupported[i].message), nuns++;
    printf("%s\n", nuns ? "" : " none");
    rm_tree(tmproot);
    printf("%d checks, %d failed\n", nchecks, nfail);
    return nfail ? 1 : 0;
}
