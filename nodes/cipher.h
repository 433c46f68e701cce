/*  cipher — the encrypted stream of protocol v1 (PROTOCOL.md section 3).

    AES-CTR with the wormhole key K (AES-128/192/256 by its length) and the
    whole 16-byte IV of the hello as the initial counter block, incremented as
    a 128-bit big-endian integer. Each direction has its own keystream
    position, and both start at the same IV: the two directions use the same
    keystream. That is the original's design and the wire depends on it
    (see "Protocol v2" in the issues for why it is weak). Nothing resets the
    position: a handover to a new socket keeps the cipher going.

    Two faces: cipher_t, a plain object, and cipher_node_class, the same in
    a tunnel side's node stack (inner->outer encrypts, outer->inner
    decrypts).
*/
#ifndef MK_CIPHER_H
#define MK_CIPHER_H

#include <stddef.h>
#include <stdint.h>

#include "nodes/node.h"

#define CIPHER_IV_SIZE 16

typedef enum {
    CIPHER_ENCRYPT = 0,     //  inner -> outer, the bytes we send
    CIPHER_DECRYPT = 1      //  outer -> inner, the bytes we receive
} cipher_dir_t;

typedef struct cipher_t cipher_t;

//  NULL if keylen is not 16, 24 or 32, or OpenSSL fails. The key and IV are
//  copied into OpenSSL's contexts.
cipher_t *cipher_new (const uint8_t *key, size_t keylen, const uint8_t iv[CIPHER_IV_SIZE]);
void cipher_destroy (cipher_t **self_p);

//  Runs len bytes of one direction through its keystream, continuing where
//  the previous call of that direction stopped. out may equal in (in
//  place); other overlaps are not allowed. Returns 0, or -1 if OpenSSL fails.
int cipher_apply (cipher_t *self, cipher_dir_t dir, const uint8_t *in, uint8_t *out, size_t len);

//  Bytes run through one direction so far.
uint64_t cipher_position (cipher_t *self, cipher_dir_t dir);


//  --- As a node (nodes/node.h): state a cipher_t, which the stack owns.
//  From inner it encrypts, from outer it decrypts, in place, each chunk
//  passed on whole.
extern const node_class_t cipher_node_class;

#endif
