#!/bin/sh
# tests/test-cli-img2img.sh -- `sana generate -i IMAGE` (SanaSprintImg2ImgPipeline) end to end against
# diffusers: the calls of golden/dump_img2img.py through the command, the PNG within 1 level per channel
# and --output-type latent within 1e-5 of the goldens (tests/test-pipeline-cmp compares), on every
# compiled backend (SANA_TEST_BACKENDS picks some). Also: a SanaSprintPipeline folder run with --image
# gives the same as the img2img folder, the PNG records the strength, sana info names the pipeline, and
# --help documents the options.
set -u
bin=${SANA_BIN:-./src/sana}
cmp=${CMP_BIN:-$(dirname "$bin")/../tests/test-pipeline-cmp}
G=${GOLDEN_DIR:-golden}
I=$G/ckpt/sana-tiny-sprint-img2img
S=$G/ckpt/sana-tiny-sprint
IMG=$G/image/rgb8-64x48.png
tmp=$(mktemp -d /tmp/sana-cli-i2i-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail=0
pass=0
ok() { echo "ok  : $1"; pass=$((pass + 1)); }
bad() { echo "FAIL: $1"; fail=$((fail + 1)); }
# run NAME ARGS...: PNG (unless NAME ends in _bin: latents only) and latent outputs against e2e_NAME
run() {
    name=$1; shift
    case "$name" in *_bin) ;; *)
        png=$tmp/$name.png
        case "$*" in *"--num-images-per-prompt 2"*) png=$tmp/$name-1.png ;; esac # numbered outputs
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
for be in $backends; do

run i2i_sq -m "$I" -i "$IMG" -p "a lighthouse on a cliff at sunset" -H 96 -W 96 --no-resolution-binning -s 41
# a SanaSprintPipeline folder with --image: the same pipeline over its components
run i2i_rect -m "$S" --image "$IMG" --strength 0.4 -p "a red fox in the snow" --num-images-per-prompt 2 -H 64 -W 128 \
    --no-resolution-binning -s 42
run i2i_one -m "$I" -i "$IMG" --strength 0.75 -p "a cup of coffee on a wooden table" --steps 1 \
    --intermediate-timesteps none --max-timesteps 1.0 --cfg-scale 3.0 -H 128 -W 96 --no-resolution-binning -s 43
run i2i_bin -m "$I" -i "$IMG" --strength 0.5 -p "a small robot" -H 200 -W 328 --tiled-decode -s 44

done

# the second image of i2i_rect (numbered outputs, of the last backend)
if "$cmp" png "$tmp/i2i_rect-2.png" pipeline/e2e_i2i_rect.safetensors 1; then ok "i2i_rect: second image"
else bad "i2i_rect: second image"; fi

# PNG metadata: the strength, no negative prompt (Sprint has no CFG)
info=$("$bin" info "$tmp/i2i_sq.png")
want="a lighthouse on a cliff at sunset
Steps: 2, Sampler: SCM, CFG scale: 4.5, Seed: 41, Size: 96x96, Model: sana-tiny-sprint-img2img, Denoising strength: 0.6"
if [ "$info" = "$want" ]; then ok "parameters chunk: $(echo "$info" | tail -1)"; else bad "parameters chunk: '$info'"; fi

# progress: strength 0.4 of 2 steps runs 1
err=$("$bin" generate -m "$I" -i "$IMG" --strength 0.4 -p x -H 64 -W 64 --no-resolution-binning -o "$tmp/p.png" 2>&1 >/dev/null)
case "$err" in *"SanaSprintImg2ImgPipeline"*"step 1/1:"*"decode:"*) ok "progress: 1 step of 1" ;;
*) bad "progress lines: $err" ;; esac

# sana info of the folder
out=$("$bin" info "$I")
for want in "SanaSprintImg2ImgPipeline" "libsana runs it as: SANA-Sprint image to image" "scheduler: diffusers.SCMScheduler" "vae: diffusers.AutoencoderDC" \
    "guidance_embeds: true"; do
    case "$out" in *"$want"*) ;; *) bad "info DIR lacks '$want'" ;; esac
done
ok "info img2img DIR"

# --help
help=$("$bin" generate --help)
for o in "-i, --image FILE" "--strength S" "SanaSprintImg2ImgPipeline" "default: 0.6"; do
    case "$help" in *"$o"*) ;; *) bad "--help lacks '$o'" ;; esac
done
ok "--help documents --image and --strength"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
