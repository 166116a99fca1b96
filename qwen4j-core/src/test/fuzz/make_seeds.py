#!/usr/bin/env python3
"""Writes the fuzz seed corpora under src/test/resources from the shared fixtures (../shared).

Seeds are small (libFuzzer mutates inputs up to a few kB well; multi-MB fixtures would only be
truncated): the fixtures' real headers, keys, names and tokenizer entries, cut down to a few
entries each. Run from the repository root: python3 qwen4j-core/src/test/fuzz/make_seeds.py
"""
import json, os, struct, sys

SHARED = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', '..', 'shared')
RES = os.path.join(os.path.dirname(__file__), '..', 'resources', 'qwen4j')
TINY = os.path.join(SHARED, 'fixtures', 'tiny')
TOK = os.path.join(SHARED, 'qwen-tokenizer')


def out(cls_dir, method, name, data):
    d = os.path.join(RES, cls_dir, method)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode('utf-8')
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


# ---------------------------------------------------------------- GGUF
def read_gguf_metadata(path):
    b = open(path, 'rb').read(8 << 20)
    pos = 24
    n_t, n_kv = struct.unpack_from('<QQ', b, 8)

    def s(p):
        n, = struct.unpack_from('<Q', b, p)
        return b[p + 8:p + 8 + n].decode('utf-8'), p + 8 + n

    scal = {0: '<B', 1: '<b', 2: '<H', 3: '<h', 4: '<I', 5: '<i', 6: '<f', 7: '<?', 10: '<Q', 11: '<q', 12: '<d'}

    def val(t, p):
        if t in scal:
            v, = struct.unpack_from(scal[t], b, p)
            return v, p + struct.calcsize(scal[t])
        if t == 8:
            return s(p)
        et, n = struct.unpack_from('<IQ', b, p)
        p += 12
        items = []
        for _ in range(n):
            v, p = val(et, p)
            items.append(v)
        return (et, items), p

    md = []
    for _ in range(n_kv):
        k, pos = s(pos)
        t, = struct.unpack_from('<I', b, pos)
        v, pos = val(t, pos + 4)
        md.append((k, t, v))
    return md


def write_gguf(md, tensors):
    scal = {0: '<B', 1: '<b', 2: '<H', 3: '<h', 4: '<I', 5: '<i', 6: '<f', 7: '<?', 10: '<Q', 11: '<q', 12: '<d'}

    def s(x):
        e = x.encode('utf-8')
        return struct.pack('<Q', len(e)) + e

    def val(t, v):
        if t in scal:
            return struct.pack(scal[t], v)
        if t == 8:
            return s(v)
        et, items = v
        return struct.pack('<IQ', et, len(items)) + b''.join(val(et, i) for i in items)

    h = b'GGUF' + struct.pack('<IQQ', 3, len(tensors), len(md))
    for k, t, v in md:
        h += s(k) + struct.pack('<I', t) + val(t, v)
    data = b''
    for name, ggml_type, ne, raw in tensors:
        h += s(name) + struct.pack('<I', len(ne)) + b''.join(struct.pack('<Q', d) for d in ne)
        h += struct.pack('<IQ', ggml_type, len(data))
        data += raw + b'\0' * ((-len(raw)) % 32)
    h += b'\0' * ((-len(h)) % 32)
    return h + data


md = read_gguf_metadata(os.path.join(TINY, 'tiny-BF16.gguf'))
small = []
for k, t, v in md:
    if t == 9:
        v = (v[0], v[1][:24])
    if k == 'tokenizer.chat_template':
        v = v[:300]
    small.append((k, t, v))
f32 = struct.pack('<4f', 1, 2, 3, 4)
bf16 = b'\x80\x3f' * 16
q8 = struct.pack('<e', 0.5) + bytes(range(32))
tensors = [('output_norm.weight', 0, [4], f32), ('token_embd.weight', 30, [8, 2], bf16), ('blk.0.ffn_up.weight', 8, [32, 1], q8)]
full = write_gguf(small, tensors)
out('format/GgufFuzzTestInputs', 'metadata', 'tiny-bf16-cut', full)
out('format/GgufFuzzTestInputs', 'metadata', 'no-tensors', write_gguf(small[:6], []))
out('format/GgufFuzzTestInputs', 'metadata', 'real-prefix-4k', open(os.path.join(TINY, 'tiny-BF16.gguf'), 'rb').read(4096))
out('format/GgufFuzzTestInputs', 'metadata', 'split-part-3-prefix',
    open(os.path.join(TINY, 'tiny-Q8_0-split-00003-of-00003.gguf'), 'rb').read(4096))
# tensorTable: [count byte][table + data], the fixed header is added by the test
table = b''
data = b''
for name, ggml_type, ne, raw in tensors:
    e = name.encode()
    table += struct.pack('<Q', len(e)) + e + struct.pack('<I', len(ne)) + b''.join(struct.pack('<Q', d) for d in ne)
    table += struct.pack('<IQ', ggml_type, len(data))
    data += raw + b'\0' * ((-len(raw)) % 32)
out('format/GgufFuzzTestInputs', 'tensorTable', 'three-tensors', bytes([3]) + table + b'\0' * 32 + data)

# ---------------------------------------------------------------- safetensors
def safetensors(header, data):
    h = json.dumps(header, separators=(',', ':')).encode()
    return struct.pack('<Q', len(h)) + h + data

real = open(os.path.join(TINY, 'hf', 'model.safetensors'), 'rb').read(1 << 16)
hl, = struct.unpack_from('<Q', real, 0)
hdr = json.loads(real[8:8 + hl])
names = [n for n in hdr if n != '__metadata__'][:3]
h, data = {'__metadata__': hdr.get('__metadata__', {'format': 'pt'})}, b''
for i, n in enumerate(names):
    shape = [2, 3] if i else [4]
    size = 2 * (6 if i else 4)
    h[n] = {'dtype': 'BF16', 'shape': shape, 'data_offsets': [len(data), len(data) + size]}
    data += b'\x80\x3f' * (size // 2)
h['extra.u8'] = {'dtype': 'U8', 'shape': [3], 'data_offsets': [len(data), len(data) + 3]}
data += b'\1\2\3'
out('format/SafetensorsFuzzTestInputs', 'safetensorsFile', 'tiny-names', safetensors(h, data))
out('format/SafetensorsFuzzTestInputs', 'safetensorsFile', 'real-prefix-4k', real[:4096])
out('format/SafetensorsFuzzTestInputs', 'indexJson', 'tiny-sharded-index',
    open(os.path.join(TINY, 'hf-sharded', 'model.safetensors.index.json'), 'rb').read())

# ---------------------------------------------------------------- config.json
out('format/ConfigFuzzTestInputs', 'configJson', 'tiny-config', open(os.path.join(TINY, 'hf', 'config.json'), 'rb').read())
out('format/ConfigFuzzTestInputs', 'generationConfigJson', 'tiny-generation-config',
    open(os.path.join(TINY, 'hf', 'generation_config.json'), 'rb').read())

# ---------------------------------------------------------------- tokenizer
tj = json.load(open(os.path.join(TOK, 'tokenizer.json'), encoding='utf-8'))
keep = {k: v for k, v in tj['model']['vocab'].items() if v < 300}
merges = []
for m in tj['model']['merges']:
    a, b2 = m.split(' ') if isinstance(m, str) else m
    if a in keep and b2 in keep and a + b2 in keep:
        merges.append(m)
    if len(merges) >= 40:
        break
mini = dict(tj)
mini['model'] = dict(tj['model'], vocab=keep, merges=merges)
mini['added_tokens'] = [dict(t, id=300 + i) for i, t in enumerate(tj['added_tokens'][:4])]
out('tokenizer/TokenizerFuzzTestInputs', 'tokenizerJson', 'qwen-mini',
    json.dumps(mini, ensure_ascii=False, indent=1))
vocab = dict(keep)
vocab_json = json.dumps(vocab, ensure_ascii=False)
merges_txt = '#version: 0.2\n' + '\n'.join(m if isinstance(m, str) else ' '.join(m) for m in merges) + '\n'
out('tokenizer/TokenizerFuzzTestInputs', 'vocabAndMerges', 'qwen-mini', vocab_json + '\0' + merges_txt)
inp = open(os.path.join(TOK, 'ggml-vocab-qwen2.gguf.inp'), encoding='utf-8').read()
for i, case in enumerate(inp.split('\n__ggml_vocab_test__\n')[:12]):
    out('tokenizer/TokenizerFuzzTestInputs', 'arbitraryBytes', 'ggml-case-%02d' % i, case)
out('tokenizer/TokenizerFuzzTestInputs', 'arbitraryBytes', 'invalid-utf8', b'ok \xff\xfe \xc3 \xe2\x82 \xed\xa0\x80 end')
print('seeds written under', os.path.normpath(RES))
