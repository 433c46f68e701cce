/*  http_check — what the HTTP codec tests (test_http_*) share: parsing a
    request or response head from a string, its status at once or fed one
    byte more each time as the proxy reads, comparing a rewritten head
    byte for byte, and a request's path as a string.
*/
#ifndef MK_HTTP_CHECK_H
#define MK_HTTP_CHECK_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "handlers/http_codec.h"



http_result_t
hc_req (const char *text, http_request_t *req);

int
hc_req_status (const char *text);

//  The same text fed as the proxy reads it, one more byte each time (the
//  buffer grows): the status once decided, 0 if it never is.
int
hc_req_status_bytewise (const char *text);

http_result_t
hc_resp (const char *text, bool is_head, http_response_t *resp);

//  Rewrite a request and compare with the expected head byte for byte.
void
hc_check_rewrite (const char *in, const char *expected);

char *
hc_path (const http_request_t *req, const char *head, char *buf, size_t size);

#endif
