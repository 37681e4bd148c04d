#!/usr/bin/env python3
# Compares grove_syntax::estimate_tokens (re-implemented below as est) with
# BERT WordPiece counts from a vocab.txt (all-MiniLM-L6-v2 by default).
# Usage: python3 calibrate_tokens.py "/path/**/*.c" ...  (150 random files per pattern)
import sys, unicodedata, math, re, glob, random
vocab=set(l.rstrip('\n') for l in open('/work/shared/models/all-MiniLM-L6-v2/vocab.txt'))
def is_punct(c):
    cp=ord(c)
    if 33<=cp<=47 or 58<=cp<=64 or 91<=cp<=96 or 123<=cp<=126: return True
    return unicodedata.category(c).startswith('P')
def wordpiece(w):
    if len(w)>100: return 1
    n=0; i=0
    while i<len(w):
        j=len(w)
        while j>i:
            s=w[i:j] if i==0 else '##'+w[i:j]
            if s in vocab: break
            j-=1
        if j==i: return 1  # [UNK] for whole word
        n+=1; i=j
    return n
def bert(text):
    text=unicodedata.normalize('NFD',text.lower())
    text=''.join(c for c in text if unicodedata.category(c)!='Mn')
    n=0
    for word in text.split():
        cur=''
        for c in word:
            if is_punct(c):
                if cur: n+=wordpiece(cur); cur=''
                n+=1
            else: cur+=c
        if cur: n+=wordpiece(cur)
    return n
def est(b):
    t=0; run=0
    for x in b:
        if (48<=x<=57) or (65<=x<=90) or (97<=x<=122): run+=1; continue
        t+=(run+3)//4; run=0
        if x in (32,9,10,13,11,12) or 0x80<=x<=0xbf: continue
        t+=1
    return t+(run+3)//4
random.seed(1)
for pat in sys.argv[1:]:
    files=sorted(glob.glob(pat,recursive=True)); random.shuffle(files); files=files[:150]
    B=E=0
    for f in files:
        b=open(f,'rb').read(); s=b.decode('utf-8','replace')
        B+=bert(s); E+=est(b)
    print(pat, len(files), 'wordpiece',B,'estimate',E,'ratio est/wp %.3f'%(E/B))
