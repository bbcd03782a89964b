/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The release of xenstub. */
#ifndef XENSTUB_VERSION_H
#define XENSTUB_VERSION_H
#define XENSTUB_VERSION "0.1.0"
#endif
