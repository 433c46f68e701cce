/*  cipher — AES-CTR stream of protocol v1, plain object and node (see cipher.h). */
#include "nodes/cipher.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>


struct cipher_t {
    EVP_CIPHER_CTX *ctx[2];     //  indexed by cipher_dir_t
    uint64_t position[2];
};

static const EVP_CIPHER *
s_aes_ctr (size_t keylen)
{
    switch (keylen) {
        case 16: return EVP_aes_128_ctr ();
        case 24: return EVP_aes_192_ctr ();
        case 32: return EVP_aes_256_ctr ();
        default: return NULL;
    }
}

cipher_t *
cipher_new (const uint8_t *key, size_t keylen, const uint8_t iv[CIPHER_IV_SIZE])
{
    const EVP_CIPHER *aes = s_aes_ctr (keylen);
    if (!aes || !key || !iv)
        return NULL;
    cipher_t *self = (cipher_t *) calloc (1, sizeof (cipher_t));
    if (!self)
        return NULL;
    for (int dir = 0; dir < 2; dir++) {
        //  CTR decryption is the same keystream XOR: both contexts encrypt.
        self->ctx[dir] = EVP_CIPHER_CTX_new ();
        if (!self->ctx[dir]
        ||  !EVP_EncryptInit_ex (self->ctx[dir], aes, NULL, key, iv)) {
            cipher_destroy (&self);
            return NULL;
        }
    }
    return self;
}

void
cipher_destroy (cipher_t **self_p)
{
    assert (self_p);
    cipher_t *self = *self_p;
    if (!self)
        return;
    EVP_CIPHER_CTX_free (self->ctx[CIPHER_ENCRYPT]);   //  cleanses the key schedule
    EVP_CIPHER_CTX_free (self->ctx[CIPHER_DECRYPT]);
    free (self);
    *self_p = NULL;
}

int
cipher_apply (cipher_t *self, cipher_dir_t dir, const uint8_t *in, uint8_t *out, size_t len)
{
    assert (self);
    assert (dir == CIPHER_ENCRYPT || dir == CIPHER_DECRYPT);
    //  EVP takes int lengths: feed huge buffers in slices (CTR has no padding,
    //  so every slice comes out whole).
    const size_t slice_max = (size_t) 1 << 30;
    while (len > 0) {
        size_t slice = len < slice_max ? len : slice_max;
        int outl = 0;
        if (!EVP_EncryptUpdate (self->ctx[dir], out, &outl, in, (int) slice)
        ||  (size_t) outl != slice)
            return -1;
        self->position[dir] += slice;
        in += slice;
        out += slice;
        len -= slice;
    }
    return 0;
}

uint64_t
cipher_position (cipher_t *self, cipher_dir_t dir)
{
    assert (self);
    return self->position[dir];
}


//  --- Node

static void
s_node_destroy (void **state_p)
{
    cipher_t *self = (cipher_t *) *state_p;
    cipher_destroy (&self);
    *state_p = NULL;
}

//  In place: the bytes we are given leave as they are, encrypted or decrypted.
static int
s_node_recv (void *state, node_side_t from, uint8_t *data, size_t len, unsigned flags,
             const node_out_t *out)
{
    cipher_t *self = (cipher_t *) state;
    cipher_dir_t dir = from == NODE_INNER ? CIPHER_ENCRYPT : CIPHER_DECRYPT;
    if (len > 0 && cipher_apply (self, dir, data, data, len) != 0)
        return -1;
    out->data (out->ctx, from == NODE_INNER ? NODE_OUTER : NODE_INNER, data, len, flags);
    return 0;
}

const node_class_t cipher_node_class = {
    .name = "cipher",
    .destroy = s_node_destroy,
    .recv = s_node_recv,
};
