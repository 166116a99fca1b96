/* Minimal HotSpot disassembler plugin on capstone (for reading C2's vector code). */
#include <stdint.h>
#include <stdio.h>
#include <capstone/capstone.h>

typedef void* (*event_cb)(void*, const char*, void*);
typedef int (*printf_cb)(void*, const char*, ...);

void* decode_instructions_virtual(uintptr_t start_va, uintptr_t end_va, unsigned char* buffer, uintptr_t length,
                                  event_cb ev, void* ev_stream, printf_cb pr, void* pr_stream,
                                  const char* options, int newline) {
    csh h;
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK) return (void*) start_va;
    cs_option(h, CS_OPT_SKIPDATA, CS_OPT_OFF);
    cs_insn* insn = cs_malloc(h);
    const uint8_t* code = buffer;
    size_t size = length;
    uint64_t addr = start_va;
    while (addr < end_va) {
        uint64_t a0 = addr;
        if (!cs_disasm_iter(h, &code, &size, &addr, insn)) {
            if (size == 0) break;
            if (ev) ev(ev_stream, "insn", (void*) a0);
            pr(pr_stream, ".byte 0x%02x", *code);
            code++; size--; addr++;
            if (ev) ev(ev_stream, "/insn", (void*) addr);
            if (newline) pr(pr_stream, "\n");
            continue;
        }
        if (ev) ev(ev_stream, "insn", (void*) a0);
        pr(pr_stream, "%-8s %s", insn->mnemonic, insn->op_str);
        if (ev) ev(ev_stream, "/insn", (void*) addr);
        if (newline) pr(pr_stream, "\n");
    }
    cs_free(insn, 1);
    cs_close(&h);
    return (void*) addr;
}
