/* sana.h -- the public C API of libsana.
 *
 * libsana is a portable C implementation of the SANA text-to-image family
 * (linear-attention diffusion transformer, DC-AE autoencoder, Gemma-2 text
 * encoder, flow-matching samplers), numerically conformant with diffusers.
 */
#ifndef SANA_H
#define SANA_H

#ifdef __cplusplus
extern "C" {
#endif

/* The library version ("0.1.0"). */
const char *sana_version(void);

#ifdef __cplusplus
}
#endif
#endif
