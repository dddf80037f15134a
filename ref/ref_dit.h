/* ref/ref_dit.h -- reference operators of the dit family (see ref.h for the conventions). */
#ifndef SANA_REF_DIT_H
#define SANA_REF_DIT_H

#endif
