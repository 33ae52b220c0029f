#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
# Embed a Varlink interface file as a C string, for GetInterfaceDescription.
import sys

src, out, symbol = sys.argv[1], sys.argv[2], sys.argv[3]
text = open(src, encoding='utf-8').read()
with open(out, 'w', encoding='utf-8') as f:
    f.write('/* Generated from %s by embed-interface.py. */\n' % src.split('/')[-1])
    f.write('const char %s[] =\n' % symbol)
    for line in text.splitlines(keepends=True):
        esc = line.replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n')
        f.write('\t"%s"\n' % esc)
    f.write('\t"";\n')
