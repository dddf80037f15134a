/* src/io/image_exif.c -- the EXIF/XMP orientation of an image and its transposition; see image.h.
 *
 * Pillow's ImageOps.exif_transpose reads Image.getexif()[0x0112] (Orientation, in IFD0) and, when
 * the EXIF block has no such tag, the first tiff:Orientation digit of the XMP packet. The EXIF
 * block is parsed the way TiffImagePlugin.ImageFileDirectory_v2 parses it: a classic TIFF header
 * (II or MM), IFD0 at the header's offset, 12-byte entries; an entry whose data lies outside the
 * block is skipped, a block cut short keeps the entries read so far, a later entry with the same
 * tag replaces an earlier one. BigTIFF headers are taken as "no orientation".
 */
#include "io/image.h"

#include <stdlib.h>
#include <string.h>

static uint32_t rd16(const uint8_t *p, int be)
{
    return be ? (uint32_t)p[0] << 8 | p[1] : (uint32_t)p[1] << 8 | p[0];
}

static uint32_t rd32(const uint8_t *p, int be)
{
    return be ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
              : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* Bytes per value of the TIFF field types (0: a type Pillow does not know; the entry is skipped). */
static size_t tiff_type_size(uint32_t type)
{
    static const unsigned char size[] = {0, 1, 1, 2, 4, 8, 1, 1, 2, 4, 8, 4, 8, 4};
    if (type == 16 || type == 17 || type == 18) return 8; /* LONG8, SLONG8, IFD8 */
    return type < sizeof size ? size[type] : 0;
}

int sana_exif_orientation(const uint8_t *data, size_t size)
{
    /* Exif.load strips one or two "Exif\0\0" prefixes (re.sub(b"^(Exif\x00\x00){1,2}", ...)). */
    for (int i = 0; i < 2 && size >= 6 && memcmp(data, "Exif\0\0", 6) == 0; i++) {
        data += 6;
        size -= 6;
    }
    if (size < 8) return 0;
    int be;
    if (data[0] == 'M' && data[1] == 'M')
        be = 1;
    else if (data[0] == 'I' && data[1] == 'I')
        be = 0;
    else
        return 0;
    /* TiffImagePlugin's PREFIXES accept 42 in either byte order of the magic number. */
    if (!((data[2] == 0 && data[3] == 42) || (data[2] == 42 && data[3] == 0))) return 0;
    uint64_t ifd = rd32(data + 4, be);
    if (ifd + 2 > size) return 0;
    uint32_t n = rd16(data + ifd, be);
    int orientation = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t e = ifd + 2 + (uint64_t)i * 12;
        if (e + 12 > size) break; /* cut short: the entries so far count */
        const uint8_t *p = data + e;
        uint32_t tag = rd16(p, be), type = rd16(p + 2, be), count = rd32(p + 4, be);
        size_t unit = tiff_type_size(type);
        if (!unit || tag != 0x0112) continue;
        uint64_t nbytes = (uint64_t)unit * count;
        const uint8_t *v = p + 8;
        if (nbytes > 4) { /* the value lies at an offset: only its presence matters here */
            uint64_t off = rd32(p + 8, be);
            if (off + nbytes > size) continue; /* "Possibly corrupt EXIF data": skipped */
        }
        if (count == 0) continue; /* no data: skipped */
        /* One integer becomes an int the transposition table knows; a tuple, bytes or a rational
         * does not (BYTE, ASCII and UNDEFINED come back as bytes). */
        int value = 0;
        if (count == 1 && type == 3) value = (int)rd16(v, be);
        else if (count == 1 && type == 8) value = (int16_t)rd16(v, be);
        else if (count == 1 && (type == 4 || type == 9)) value = (int)(int32_t)rd32(v, be);
        /* the tag is present even when its value is of no use: XMP is then not consulted */
        orientation = value ? value : -1;
    }
    return orientation;
}

int sana_xmp_orientation(const char *xmp, size_t size)
{
    static const char key[] = "tiff:Orientation";
    size_t k = sizeof key - 1;
    for (size_t i = 0; i + k + 2 <= size; i++) {
        if (memcmp(xmp + i, key, k) != 0) continue;
        const char *p = xmp + i + k;
        size_t left = size - i - k;
        if (p[0] == '=' && left >= 3 && p[1] == '"' && p[2] >= '0' && p[2] <= '9') return p[2] - '0';
        if (p[0] == '>' && p[1] >= '0' && p[1] <= '9') return p[1] - '0';
    }
    return 0;
}

/* Where output pixel (x, y) of the transposed image comes from, for PIL's seven transposes. */
static void source_of(int orientation, int x, int y, int w, int h, int *sx, int *sy)
{
    switch (orientation) {
    case 2: *sx = w - 1 - x; *sy = y; break;             /* FLIP_LEFT_RIGHT */
    case 3: *sx = w - 1 - x; *sy = h - 1 - y; break;     /* ROTATE_180 */
    case 4: *sx = x; *sy = h - 1 - y; break;             /* FLIP_TOP_BOTTOM */
    case 5: *sx = y; *sy = x; break;                     /* TRANSPOSE */
    case 6: *sx = y; *sy = h - 1 - x; break;             /* ROTATE_270 (90 degrees clockwise) */
    case 7: *sx = w - 1 - y; *sy = h - 1 - x; break;     /* TRANSVERSE */
    default: *sx = w - 1 - y; *sy = x; break;            /* 8: ROTATE_90 (counter-clockwise) */
    }
}

sana_status sana_image_orient(uint8_t **rgb, int *width, int *height, int orientation)
{
    if (orientation < 2 || orientation > 8) return SANA_OK;
    int w = *width, h = *height;
    int ow = orientation >= 5 ? h : w, oh = orientation >= 5 ? w : h;
    uint8_t *out = malloc((size_t)w * (size_t)h * 3);
    if (!out) return sana_err(SANA_ERR_NOMEM, "out of memory rotating a %dx%d image", w, h);
    const uint8_t *in = *rgb;
    for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++) {
            int sx, sy;
            source_of(orientation, x, y, w, h, &sx, &sy);
            memcpy(out + ((size_t)y * ow + x) * 3, in + ((size_t)sy * w + sx) * 3, 3);
        }
    free(*rgb);
    *rgb = out;
    *width = ow;
    *height = oh;
    return SANA_OK;
}
