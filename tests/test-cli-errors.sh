#!/bin/sh
# tests/test-cli-errors.sh -- bad input to the sana command: each case must print exactly one line
# "sana: error: ..." naming the problem, exit non-zero without crashing (no signal), and leave no
# output file behind.
set -u
bin=${SANA_BIN:-./src/sana}
G=${GOLDEN_DIR:-golden}
M=$G/ckpt/sana-tiny
S=$G/ckpt/sana-tiny-sprint
tmp=$(mktemp -d /tmp/sana-cli-err-XXXXXX)
trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT
fail=0
pass=0
# expect 'what' 'message part' args...
expect() {
    what=$1; want=$2; shift 2
    "$bin" "$@" >"$tmp/_stdout" 2>"$tmp/_stderr"
    rc=$?
    lines=$(wc -l <"$tmp/_stderr")
    msg=$(cat "$tmp/_stderr")
    if [ $rc -eq 0 ]; then echo "FAIL: $what: exit 0"; fail=$((fail + 1)); return; fi
    if [ $rc -ge 128 ]; then echo "FAIL: $what: crashed (exit $rc): $msg"; fail=$((fail + 1)); return; fi
    if [ "$lines" -ne 1 ]; then echo "FAIL: $what: $lines lines on stderr: $msg"; fail=$((fail + 1)); return; fi
    case "$msg" in
    "sana: error: "*"$want"*) echo "ok  : $what: $msg"; pass=$((pass + 1)) ;;
    *) echo "FAIL: $what: message '$msg' lacks '$want'"; fail=$((fail + 1)) ;;
    esac
    if ls "$tmp"/o.png* >/dev/null 2>&1; then echo "FAIL: $what: left $(ls "$tmp"/o.png*)"; fail=$((fail + 1)); rm -f "$tmp"/o.png*; fi
}
O=$tmp/o.png
gen() { echo generate -q -m "$M" -p fox --steps 1 -H 64 -W 64 --no-resolution-binning -o "$O"; }

# the model folder and its components
expect "missing folder" "no such folder" generate -q -m "$tmp/nope" -p x -o "$O"
mkdir "$tmp/empty"
expect "not a pipeline folder" "no model_index.json" generate -q -m "$tmp/empty" -p x -o "$O"
cp -r "$M" "$tmp/novae" && rm -rf "$tmp/novae/vae"
expect "missing component" 'component "vae" is missing' generate -q -m "$tmp/novae" -p x -o "$O"
cp -r "$M" "$tmp/noweights" && rm -f "$tmp/noweights/transformer/diffusion_pytorch_model.safetensors"
expect "missing weights" "transformer" generate -q -m "$tmp/noweights" -p x -o "$O"
cp -r "$M" "$tmp/badclass" && sed -i 's/"SanaPipeline"/"StableDiffusionPipeline"/' "$tmp/badclass/model_index.json"
expect "unsupported _class_name" '_class_name "StableDiffusionPipeline" is not supported' generate -q -m "$tmp/badclass" -p x -o "$O"
cp -r "$M" "$tmp/badvae" && sed -i 's/"AutoencoderDC"/"AutoencoderKL"/' "$tmp/badvae/model_index.json"
expect "unsupported component class" 'vae class "AutoencoderKL" is not supported' generate -q -m "$tmp/badvae" -p x -o "$O"
cp -r "$M" "$tmp/badjson" && echo '{"_class_name": ' >"$tmp/badjson/model_index.json"
expect "broken model_index.json" "model_index.json" generate -q -m "$tmp/badjson" -p x -o "$O"
expect "unknown variant" "variant" generate -q -m "$M" -p x --variant fp8 -o "$O"
expect "variant files absent" "bf16" generate -q -m "$M" -p x --variant bf16 -o "$O"
# sana-tiny with a tokenizer of 422 entries for 420 embeddings (golden/dump_added_tokens.py): it loads;
# a prompt that produces id 421 (position 3: <bos> a ▁ zorblax, as transformers tokenizes it) is refused
# when it is encoded
mkdir "$tmp/added"
for part in model_index.json scheduler text_encoder transformer vae; do ln -s "$(cd "$M" && pwd)/$part" "$tmp/added/$part"; done
ln -s "$(cd "$G/ckpt/tokenizer-added" && pwd)" "$tmp/added/tokenizer"
expect "added token past the embedding table" "token id 421 (\"zorblax\") at position 3 is outside the text encoder's vocab_size 420" \
    generate -q -m "$tmp/added" -p "a zorblax fox" --steps 1 -H 64 -W 64 --no-resolution-binning --chi none -o "$O"

# sizes, steps, counts
expect "height not a multiple of 32" "multiples of 32" $(gen) -H 100
expect "width not a multiple of 32" "multiples of 32" $(gen) -W 33
expect "size out of range" "between 32 and 16384" $(gen) -H 32768
expect "binned size out of range" "between 1 and 16384 with resolution binning" generate -q -m "$M" -p fox --steps 1 -H 16 -W 20000 -o "$O"
expect "size not a number" "not a whole number" $(gen) -W abc
expect "steps < 1" "num_inference_steps must be between 1" $(gen) --steps 0
expect "negative images" "num_images_per_prompt" $(gen) --num-images-per-prompt 0
expect "max sequence length 0" "max_sequence_length" $(gen) --max-sequence-length 0
expect "guidance not a number" "not a number" $(gen) --cfg-scale nan
expect "bad seed" "seed" $(gen) -s -5
expect "unknown scheduler" "not one of dpm, euler, scm" $(gen) --scheduler ddim
expect "unknown backend" "backend \"tpu\" is not compiled into this libsana (backends: ref, cpu)" $(gen) --backend tpu
expect "scm on a non-Sprint checkpoint" "scm" $(gen) --scheduler scm
expect "bad output type" "not one of png, latent" $(gen) --output-type jpg
expect "missing PAG layer" "Cannot find PAG layer" $(gen) --pag-scale 2 --pag-applied-layers transformer_blocks.9
expect "Sprint 3 steps with the default intermediate" "num_inference_steps != 2" generate -q -m "$S" -p x --steps 3 \
    -H 64 -W 64 --no-resolution-binning -o "$O"
expect "Sprint option on a SanaPipeline" "SanaSprintPipeline" $(gen) --intermediate-timesteps none

# image to image (SanaSprintImg2ImgPipeline): the init image, --strength, the pipeline that takes them
I=$G/ckpt/sana-tiny-sprint-img2img
IMG=$G/image/rgb8-64x48.png
i2i() { echo generate -q -m "$S" -p fox -H 64 -W 64 --no-resolution-binning -o "$O"; }
expect "image: no such file" "--image: $tmp/nope.png: cannot open" $(i2i) -i "$tmp/nope.png"
head -c 300 "$IMG" >"$tmp/trunc.png"
expect "image: truncated PNG" "$tmp/trunc.png: broken PNG file: the file is truncated" $(i2i) -i "$tmp/trunc.png"
echo "not an image" >"$tmp/text.png"
expect "image: not a PNG" "$tmp/text.png: not a PNG file" $(i2i) -i "$tmp/text.png"
# a valid PNG header of 20000x20000 (IHDR, an empty IDAT, IEND): refused before any pixel is decoded
printf '\211\120\116\107\015\012\032\012\000\000\000\015\111\110\104\122\000\000\116\040\000\000\116\040\010\002\000\000\000\154\022\321\156\000\000\000\014\111\104\101\124\170\234\143\140\140\140\000\000\000\004\000\001\366\027\070\125\000\000\000\000\111\105\116\104\256\102\140\202' >"$tmp/huge.png"
expect "image: 20000x20000" "$tmp/huge.png: image of 20000x20000 pixels is too large" $(i2i) -i "$tmp/huge.png"
expect "strength above 1" "--strength must be between 0 and 1, not 1.5" $(i2i) -i "$IMG" --strength 1.5
expect "strength below 0" "--strength must be between 0 and 1, not -0.1" $(i2i) -i "$IMG" --strength -0.1
expect "strength not a number" "--strength: \"abc\" is not a number" $(i2i) -i "$IMG" --strength abc
expect "strength 0: no step left" "the number of pipeline steps is 0" $(i2i) -i "$IMG" --strength 0
expect "strength without an image" "--strength applies to image to image only" $(i2i) --strength 0.5
expect "image on a SanaPipeline" "image to image needs a SANA-Sprint checkpoint" $(gen) -i "$IMG"
expect "img2img folder without an image" "is a SanaSprintImg2ImgPipeline: give the init image with --image" \
    generate -q -m "$I" -p fox -H 64 -W 64 --no-resolution-binning -o "$O"

# output
expect "unwritable output (missing folder)" "does not exist" generate -q -m "$M" -p x -o "$tmp/no/such/o.png"
mkdir "$tmp/dir.png"
expect "output is a folder" "is a folder" generate -q -m "$M" -p x -o "$tmp/dir.png"
rmdir "$tmp/dir.png"
if [ "$(id -u)" != 0 ]; then
    mkdir "$tmp/ro" && chmod 500 "$tmp/ro"
    expect "unwritable output (read-only folder)" "not writable" generate -q -m "$M" -p x -o "$tmp/ro/o.png"
fi

# text
expect "invalid UTF-8 prompt" "not valid UTF-8" $(gen) -p "$(printf 'bad \377 text')"
expect "invalid UTF-8 negative prompt" "not valid UTF-8" $(gen) -n "$(printf '\300\200')"
printf 'fine\nbad \377\n' >"$tmp/p.txt"
expect "invalid UTF-8 in a prompt file" "line 2 is not valid UTF-8" generate -q -m "$M" --prompt-file "$tmp/p.txt" -o "$O"
expect "missing prompt file" "cannot open" generate -q -m "$M" --prompt-file "$tmp/none.txt" -o "$O"
expect "missing CHI file" "cannot open" $(gen) --chi "$tmp/none.txt"
expect "no prompt" "no prompt" generate -q -m "$M" -o "$O"

# latents and embeddings files
expect "missing latents file" "none.safetensors: cannot open" $(gen) --latents "$tmp/none.safetensors"
echo "not a safetensors file" >"$tmp/junk.safetensors"
expect "broken latents file" "junk.safetensors" $(gen) --latents "$tmp/junk.safetensors"
"$bin" generate -q -m "$M" -p x --steps 1 -H 64 -W 96 --no-resolution-binning --output-type latent -o "$tmp/l96.safetensors"
expect "latents of the wrong shape" "do not fit" $(gen) --latents "$tmp/l96.safetensors"
# a safetensors file with latents [1, 3, 1, 1]: the VAE takes 4 channels
json='{"latents":{"dtype":"F32","shape":[1,3,1,1],"data_offsets":[0,12]}}'
{ printf "\\$(printf %03o ${#json})\\0\\0\\0\\0\\0\\0\\0"; printf %s "$json"; head -c 12 /dev/zero; } >"$tmp/c3.safetensors"
expect "latents given to decode: wrong channels" "do not fit" decode -q -m "$M" --latents "$tmp/c3.safetensors" -o "$O"
expect "prompt embeddings file without tensors" "prompt_embeds" generate -q -m "$M" --prompt-embeds "$tmp/l96.safetensors" -o "$O"

# ControlNet (doc/pipeline.md): the control image, the ControlNet folder, and which pipeline takes them
CN=$G/ckpt/sana-tiny-controlnet
C=$G/ckpt/controlnet-tiny
E=$G/controlnet/edges64.png
cgen() { echo generate -q -p fox --steps 1 -H 64 -W 64 --no-resolution-binning -o "$O"; }
expect "control image missing" "--control-image $tmp/none.png" $(cgen) -m "$CN" --control-image "$tmp/none.png"
echo "not a png" >"$tmp/p.png"
expect "control image not a PNG" "p.png" $(cgen) -m "$CN" --control-image "$tmp/p.png"
head -c 60 "$E" >"$tmp/trunc.png"
expect "control image truncated" "trunc.png" $(cgen) -m "$CN" --control-image "$tmp/trunc.png"
expect "ControlNet pipeline without a control image" "give --control-image FILE" $(cgen) -m "$CN"
expect "control image without a ControlNet" "need a ControlNet: $M is a SanaPipeline" $(gen) --control-image "$E"
expect "conditioning scale without a ControlNet" "need a ControlNet" $(gen) --controlnet-conditioning-scale 0.5
expect "conditioning scale not a number" "not a number" $(cgen) -m "$CN" --control-image "$E" --controlnet-conditioning-scale x
expect "PAG with a ControlNet" "no PAG variant of SanaControlNetPipeline" $(cgen) -m "$CN" --control-image "$E" --pag-scale 2
expect "ControlNet on a Sprint folder" "not a SanaSprintPipeline" generate -q -m "$S" --controlnet "$C" --control-image "$E" -p x -o "$O"
expect "--controlnet folder missing" "$tmp/nocn/config.json" $(cgen) -m "$M" --controlnet "$tmp/nocn" --control-image "$E"
# a ControlNet folder with a tensor left out, a config key of the wrong type, another width, other channels
mkdir "$tmp/cn-miss" "$tmp/cn-key" "$tmp/cn-wide" "$tmp/cn-chan" "$tmp/cn-shape"
sed 's/"input_block.bias"/"input_block.bia_"/' "$C/diffusion_pytorch_model.safetensors" >"$tmp/cn-miss/diffusion_pytorch_model.safetensors"
cp "$C/config.json" "$tmp/cn-miss/"
expect "ControlNet tensor missing" 'missing tensor "input_block.bias"' $(cgen) -m "$M" --controlnet "$tmp/cn-miss" --control-image "$E"
sed 's/"num_layers": 2/"num_layers": "2"/' "$C/config.json" >"$tmp/cn-key/config.json"
ln -s "$(cd "$C" && pwd)/diffusion_pytorch_model.safetensors" "$tmp/cn-key/"
expect "ControlNet config key of the wrong type" 'config.json: key "num_layers"' $(cgen) -m "$M" --controlnet "$tmp/cn-key" --control-image "$E"
sed 's/"num_attention_heads": 2/"num_attention_heads": 4/; s/"cross_attention_dim": 32/"cross_attention_dim": 64/' "$C/config.json" >"$tmp/cn-wide/config.json"
ln -s "$(cd "$C" && pwd)/diffusion_pytorch_model.safetensors" "$tmp/cn-wide/"
expect "ControlNet of another width" "cn-wide/config.json: num_attention_heads * attention_head_dim = 4 * 16 = 64, but the transformer's inner dim is 32" \
    $(cgen) -m "$M" --controlnet "$tmp/cn-wide" --control-image "$E"
sed 's/"in_channels": 4/"in_channels": 8/' "$C/config.json" >"$tmp/cn-chan/config.json"
ln -s "$(cd "$C" && pwd)/diffusion_pytorch_model.safetensors" "$tmp/cn-chan/"
expect "ControlNet of other latent channels" "cn-chan/config.json: in_channels is 8, the transformer's is 4" \
    $(cgen) -m "$M" --controlnet "$tmp/cn-chan" --control-image "$E"
sed 's/"mlp_ratio": 2.5/"mlp_ratio": 3.0/' "$C/config.json" >"$tmp/cn-shape/config.json"
ln -s "$(cd "$C" && pwd)/diffusion_pytorch_model.safetensors" "$tmp/cn-shape/"
expect "ControlNet tensor of another shape" 'tensor "transformer_blocks.0.ff.conv_inverted.weight" has shape' \
    $(cgen) -m "$M" --controlnet "$tmp/cn-shape" --control-image "$E"
mkdir "$tmp/cn-nodir" && cp "$CN/model_index.json" "$tmp/cn-nodir/"
for part in scheduler text_encoder tokenizer transformer vae; do ln -s "$(cd "$M" && pwd)/$part" "$tmp/cn-nodir/$part"; done
expect "SanaControlNetPipeline folder without controlnet/" 'component "controlnet" is missing' $(cgen) -m "$tmp/cn-nodir" --control-image "$E"

# usage
expect "unknown option" "unknown option --frobnicate" generate --frobnicate
expect "unknown command" "unknown command" paint
# quantization and LoRA (doc/quantization.md, doc/pipeline.md)
expect "a bad --quantize" 'quantize "int3"' $(gen) --quantize int3
expect "a missing LoRA file" "missing.safetensors" $(gen) --lora "$tmp/missing.safetensors:0.5"
expect "convert without --quantize" "give --quantize" convert -q -m "$M" -o "$tmp/conv"
expect "convert onto an existing folder" "exists already" convert -q -m "$M" -o "$tmp/empty" --quantize int8
[ ! -e "$tmp/conv" ] && ! ls -d "$tmp"/empty.tmp-* >/dev/null 2>&1 && { echo "ok  : convert refusals wrote nothing"; pass=$((pass + 1)); } ||
    { echo "FAIL: a refused convert left a folder"; fail=$((fail + 1)); }
expect "option without value" "needs a value" generate -m
expect "info of a missing path" "no such file" info "$tmp/none"
expect "info of a text file" "neither a pipeline folder nor a PNG" info "$tmp/p.txt"

# an interrupted run leaves neither the output nor a temporary file
"$bin" generate -q -m "$M" -p fox --steps 40 -o "$O" &
pid=$!
sleep 1
kill -INT $pid 2>/dev/null
wait $pid
rc=$?
if ls "$tmp"/o.png* >/dev/null 2>&1 && [ $rc -ne 0 ]; then
    echo "FAIL: interrupted run (exit $rc) left $(ls "$tmp"/o.png*)"; fail=$((fail + 1))
else
    echo "ok  : interrupted run (exit $rc) left no partial file"; pass=$((pass + 1))
fi

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
