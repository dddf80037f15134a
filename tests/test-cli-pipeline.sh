#!/bin/sh
# tests/test-cli-pipeline.sh -- the sana command end to end against diffusers: each generation of
# golden/dump_pipeline.py run through `sana generate` from the prompt string; the PNG must equal
# diffusers' uint8 image within 1 level per channel and --output-type latent the latents within
# 1e-5 (tests/test-pipeline-cmp does the comparing); the ControlNet and img2img calls of
# golden/dump_controlnet.py and dump_img2img.py too. Also encode -> generate --prompt-embeds,
# decode, tokenize, info, a prompt file, and the PNG metadata. The generations, encode and decode run
# on every compiled backend (sana --list-backends; SANA_TEST_BACKENDS="ref cpu" picks some) at the
# same tolerances.
set -u
bin=${SANA_BIN:-./src/sana}
cmp=${CMP_BIN:-$(dirname "$bin")/../tests/test-pipeline-cmp}
G=${GOLDEN_DIR:-golden}
M=$G/ckpt/sana-tiny
S=$G/ckpt/sana-tiny-sprint
CN=$G/ckpt/sana-tiny-controlnet
I=$G/ckpt/sana-tiny-sprint-img2img
IMG=$G/image/rgb8-64x48.png
tmp=$(mktemp -d /tmp/sana-cli-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
pass=0
ok() { echo "ok  : $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: $1"; fail=$((fail + 1)); }
# run NAME ARGS...: sana generate with -q on backend $be, PNG (unless NAME ends in _bin: latents only; the
# first numbered image with --num-images-per-prompt 2) and latent outputs, compared with e2e_NAME
run() {
    name=$1; shift
    case "$name" in *_bin) ;; *)
        png=$tmp/$name.png
        case "$*" in *"--num-images-per-prompt 2"*) png=$tmp/$name-1.png ;; esac
        if "$bin" generate -q --backend "$be" "$@" -o "$tmp/$name.png" &&
            "$cmp" png "$png" "pipeline/e2e_$name.safetensors" 0; then
            ok "[$be] $name: png"
        else bad "[$be] $name: png"; fi ;;
    esac
    if "$bin" generate -q --backend "$be" "$@" --output-type latent -o "$tmp/$name.safetensors" &&
        "$cmp" latent "$tmp/$name.safetensors" "pipeline/e2e_$name.safetensors"; then
        ok "[$be] $name: latent"
    else bad "[$be] $name: latent"; fi
}

backends=${SANA_TEST_BACKENDS:-$("$bin" --list-backends | awk '{print $1}')}
backends=$(echo "$backends" | tr ',' ' ')
case "$backends" in *[a-z]*) ok "backends: $(echo $backends)" ;; *) bad "sana --list-backends printed no backend" ;; esac
for be in $backends; do

run cfg -m "$M" -p "a red fox in the snow, watercolor" -n "blurry, low quality" --num-inference-steps 3 \
    --guidance-scale 4.5 --height 96 --width 160 --no-resolution-binning --seed 42
run nocfg -m "$M" -p "a cup of coffee on a wooden table" --steps 2 --cfg-scale 1.0 -H 128 -W 96 \
    --no-resolution-binning -s 7
run bin -m "$M" -p "a lighthouse on a cliff at sunset, oil painting" --steps 2 -H 256 -W 384 -s 11
run bin_any -m "$M" -p "a lighthouse on a cliff at sunset, oil painting" --steps 2 -H 200 -W 328 -s 12
run euler -m "$M" -p "a small robot reading a book in a library" --steps 3 -H 128 -W 128 \
    --no-resolution-binning -s 5 --scheduler euler
run nochi -m "$M" -p "a red fox in the snow" --steps 2 -H 64 -W 64 --no-resolution-binning -s 9 --chi none \
    --max-sequence-length 64
run pag -m "$M" -p "a red fox in the snow, watercolor" --steps 2 --pag-scale 3.0 \
    --pag-applied-layers transformer_blocks.1 -H 128 -W 96 --no-resolution-binning -s 21
run pag_adaptive -m "$M" -p "a cup of coffee on a wooden table" --steps 3 --cfg-scale 1.0 --pag-scale 2.0 \
    --pag-adaptive-scale 0.002 -H 96 -W 128 --no-resolution-binning -s 22
run fp16 -m "$M" --variant fp16 -p "a cup of coffee on a wooden table" -n blurry --steps 2 -H 64 -W 96 \
    --no-resolution-binning -s 13
run sprint2 -m "$S" -p "a lighthouse on a cliff at sunset" -H 128 -W 128 --no-resolution-binning -s 31
run sprint1 -m "$S" -p "a red fox in the snow" --steps 1 --intermediate-timesteps none --cfg-scale 3.0 \
    -H 96 -W 128 --no-resolution-binning -s 32

# SanaControlNetPipeline (golden/dump_controlnet.py): the folder's controlnet/, or --controlnet DIR on sana-tiny
run cn_cfg -m "$CN" --control-image "$G/controlnet/edges64.png" -p "a red fox in the snow, watercolor" \
    -n "blurry, low quality" --steps 3 -H 64 -W 64 --no-resolution-binning -s 42
run cn_rect -m "$M" --controlnet "$G/ckpt/controlnet-tiny" --control-image "$G/controlnet/edges50x30.png" \
    -p "a cup of coffee on a wooden table" --steps 2 --cfg-scale 1.0 -H 64 -W 96 --no-resolution-binning -s 7 \
    --controlnet-conditioning-scale 0.7
run cn_bin -m "$CN" --control-image "$G/controlnet/edges40x56.png" -p "a lighthouse on a cliff at sunset" --steps 2 \
    --cfg-scale 3.0 -H 200 -W 300 --num-images-per-prompt 2 -s 11 --controlnet-conditioning-scale 1.5

# SanaSprintImg2ImgPipeline (golden/dump_img2img.py): the img2img folder, or a Sprint folder given --image
run i2i_sq -m "$I" -i "$IMG" -p "a lighthouse on a cliff at sunset" -H 96 -W 96 --no-resolution-binning -s 41
run i2i_rect -m "$S" --image "$IMG" --strength 0.4 -p "a red fox in the snow" --num-images-per-prompt 2 -H 64 -W 128 \
    --no-resolution-binning -s 42
run i2i_one -m "$I" -i "$IMG" --strength 0.75 -p "a cup of coffee on a wooden table" --steps 1 \
    --intermediate-timesteps none --max-timesteps 1.0 --cfg-scale 3.0 -H 128 -W 96 --no-resolution-binning -s 43
run i2i_bin -m "$I" -i "$IMG" --strength 0.5 -p "a small robot" -H 200 -W 328 --tiled-decode -s 44

# two images per prompt: numbered outputs
if "$bin" generate -q --backend "$be" -m "$M" -p "an astronaut riding a horse on the moon" --steps 2 --cfg-scale 3.0 \
    --num-images-per-prompt 2 -H 64 -W 64 --no-resolution-binning -s 3 -o "$tmp/two.png" &&
    "$cmp" png "$tmp/two-1.png" pipeline/e2e_two.safetensors 0 && "$cmp" png "$tmp/two-2.png" pipeline/e2e_two.safetensors 1 &&
    [ ! -e "$tmp/two.png" ]; then ok "[$be] two images: two-1.png two-2.png"; else bad "[$be] two images"; fi

# sprint with binning (1024 px bins): latents only
run sprint_bin -m "$S" -p "a small robot" -H 512 -W 768 -s 33

# sana encode writes what encode_prompt returns (default CHI; padded rows included)
if "$bin" encode -q --backend "$be" -m "$M" -p "a red fox in the snow, watercolor" -o "$tmp/cfg_emb.safetensors" &&
    "$cmp" tensor "$tmp/cfg_emb.safetensors" prompt_embeds pipeline/e2e_cfg.safetensors prompt_embeds pipeline_embeds &&
    "$cmp" tensor "$tmp/cfg_emb.safetensors" prompt_attention_mask pipeline/e2e_cfg.safetensors prompt_attention_mask \
        pipeline_exact; then ok "[$be] encode: prompt_embeds and prompt_attention_mask"
else bad "[$be] encode"; fi

# encode -> generate with given prompt embeddings and latents
"$cmp" extract pipeline/e2e_given.safetensors given_latents "$tmp/lat0.safetensors" latents >/dev/null
if "$bin" encode -q --backend "$be" -m "$M" -p "a cup of coffee on a wooden table" --chi none -o "$tmp/emb.safetensors" &&
    "$bin" generate -q --backend "$be" -m "$M" --prompt-embeds "$tmp/emb.safetensors" --latents "$tmp/lat0.safetensors" -n blurry \
        --steps 2 -H 64 -W 64 --no-resolution-binning -o "$tmp/given.png" &&
    "$cmp" png "$tmp/given.png" pipeline/e2e_given.safetensors; then ok "[$be] encode + --prompt-embeds + --latents"
else bad "[$be] encode + --prompt-embeds + --latents"; fi

# decode of latent output
if "$bin" decode -q --backend "$be" -m "$M" --latents "$tmp/cfg.safetensors" -o "$tmp/dec.png" &&
    "$cmp" png "$tmp/dec.png" pipeline/e2e_cfg.safetensors; then ok "[$be] decode"; else bad "[$be] decode"; fi

done

# PNG metadata, read back by sana info (of the last backend's run)
info=$("$bin" info "$tmp/cfg.png")
want="a red fox in the snow, watercolor
Negative prompt: blurry, low quality
Steps: 3, Sampler: DPM++ 2M, CFG scale: 4.5, Seed: 42, Size: 160x96, Model: sana-tiny"
if [ "$info" = "$want" ]; then ok "parameters chunk: $(echo "$info" | tail -1)"; else bad "parameters chunk: '$info'"; fi

# a prompt file: the model loaded once, numbered outputs, each as a single run with the same seed
printf 'a red fox in the snow, watercolor\n\na cup of coffee on a wooden table\n' >"$tmp/prompts.txt"
if "$bin" generate -q -m "$M" --prompt-file "$tmp/prompts.txt" -n "blurry, low quality" --steps 3 -H 96 -W 160 \
    --no-resolution-binning -s 42 -o "$tmp/many.png" && "$cmp" png "$tmp/many-1.png" pipeline/e2e_cfg.safetensors &&
    [ -e "$tmp/many-2.png" ] && [ ! -e "$tmp/many-3.png" ]; then ok "prompt file"; else bad "prompt file"; fi

# tokenize: <bos> first, ids only
ids=$("$bin" tokenize -m "$M" -p "a red fox")
case "$ids" in "2 "[0-9]*) ok "tokenize: $ids" ;; *) bad "tokenize printed '$ids'" ;; esac

# info DIR: the family line (a toy: no published config), every component with its class, parameters, dtype
out=$("$bin" info "$M")
for want in "SanaPipeline" "transformer: diffusers.SanaTransformer2DModel" "vae: diffusers.AutoencoderDC" \
    "text_encoder: transformers.Gemma2Model" "scheduler: diffusers.DPMSolverMultistepScheduler" \
    "tokenizer: transformers.GemmaTokenizerFast" "parameters" "dtype F32" "sample_size: 16" \
    "family: unknown (not a published config)"; do
    case "$out" in *"$want"*) ;; *) bad "info DIR lacks '$want'" ;; esac
done
ok "info DIR"
# a SanaControlNetPipeline folder and a SanaControlNetModel folder on its own
out=$("$bin" info "$CN")
for want in "SanaControlNetPipeline" "controlnet: diffusers.SanaControlNetModel" "  controlnet: unknown" "dtype F16" \
    "num_layers: 2"; do
    case "$out" in *"$want"*) ;; *) bad "info of a ControlNet pipeline lacks '$want'" ;; esac
done
out=$("$bin" info "$G/ckpt/controlnet-tiny")
case "$out" in *"diffusers.SanaControlNetModel component folder"*"parameters"*) ok "info of ControlNet folders" ;;
*) bad "info of a SanaControlNetModel folder: $out" ;; esac
# the ControlNet's PNG metadata
info=$("$bin" info "$tmp/cn_rect.png")
case "$info" in *"Model: sana-tiny, ControlNet scale: 0.7, Control image: edges50x30.png") ok "ControlNet parameters chunk" ;;
*) bad "ControlNet parameters chunk: '$info'" ;; esac

# img2img: the second image of i2i_rect (numbered outputs, of the last backend); the PNG metadata (the
# strength, no negative prompt: Sprint has no CFG); progress (strength 0.4 of 2 steps runs 1); sana info
if "$cmp" png "$tmp/i2i_rect-2.png" pipeline/e2e_i2i_rect.safetensors 1; then ok "i2i_rect: second image"
else bad "i2i_rect: second image"; fi
info=$("$bin" info "$tmp/i2i_sq.png")
want="a lighthouse on a cliff at sunset
Steps: 2, Sampler: SCM, CFG scale: 4.5, Seed: 41, Size: 96x96, Model: sana-tiny-sprint-img2img, Denoising strength: 0.6"
if [ "$info" = "$want" ]; then ok "img2img parameters chunk: $(echo "$info" | tail -1)"; else bad "img2img parameters chunk: '$info'"; fi
err=$("$bin" generate -m "$I" -i "$IMG" --strength 0.4 -p x -H 64 -W 64 --no-resolution-binning -o "$tmp/p.png" 2>&1 >/dev/null)
case "$err" in *"SanaSprintImg2ImgPipeline"*"step 1/1:"*"decode:"*) ok "img2img progress: 1 step of 1" ;;
*) bad "img2img progress lines: $err" ;; esac
out=$("$bin" info "$I")
for want in "SanaSprintImg2ImgPipeline" "libsana runs it as: SANA-Sprint image to image" "scheduler: diffusers.SCMScheduler" \
    "vae: diffusers.AutoencoderDC" "guidance_embeds: true"; do
    case "$out" in *"$want"*) ;; *) bad "info of the img2img DIR lacks '$want'" ;; esac
done
ok "info img2img DIR"

# progress lines on stderr, none with -q
err=$("$bin" generate -m "$M" -p "x" --steps 2 -H 64 -W 64 --no-resolution-binning -o "$tmp/p.png" 2>&1 >/dev/null)
case "$err" in *"load:"*"backend cpu, prepared weights"*"encode:"*"step 1/2:"*"s/it, ETA"*"step 2/2"*"decode:"*"write:"*) ok "progress lines" ;;
*) bad "progress lines: $err" ;; esac
err=$("$bin" generate -q -m "$M" -p "x" --steps 1 -H 64 -W 64 --no-resolution-binning -o "$tmp/p.png" 2>&1)
[ -z "$err" ] && ok "-q is quiet" || bad "-q printed: $err"

# --help documents every long option with its default
help=$("$bin" --help)
for o in --num-inference-steps --guidance-scale --height --width --seed --num-images-per-prompt \
    --max-sequence-length --no-resolution-binning --chi --pag-scale --pag-applied-layers --scheduler \
    --flow-shift --output-type --latents --prompt-embeds --threads --variant --steps --cfg-scale --backend \
    --list-backends --control-image --controlnet-conditioning-scale --controlnet; do
    case "$help" in *"$o"*) ;; *) bad "--help lacks $o" ;; esac
done
ok "--help lists the options"
help=$("$bin" generate --help)
for o in "-i, --image FILE" "--strength S" "SanaSprintImg2ImgPipeline" "default: 0.6"; do
    case "$help" in *"$o"*) ;; *) bad "generate --help lacks '$o'" ;; esac
done
ok "generate --help documents --image and --strength"

# sana --list-backends: ref and cpu, each with its description, the default marked
lb=$("$bin" --list-backends)
case "$lb" in "ref "*"oracle"*"cpu "*"[default]"*) ok "--list-backends" ;; *) bad "--list-backends printed '$lb'" ;; esac

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
