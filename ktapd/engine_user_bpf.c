// SPDX-License-Identifier: GPL-2.0
/*
 * The user engine's fast path for tracepoints: instead of perf writing a
 * sample per hit (perf_tp_event, perf_output_*: most of what tracing adds
 * to a traced syscall), a small BPF program on the tracepoint copies the
 * record into one BPF ring buffer shared by every CPU, laid out exactly
 * like the perf sample it replaces, so the same decoder and the same
 * time-ordered merge read both. The programs are assembled here, a few
 * dozen instructions each, with no compiler and no libbpf.
 *
 * A BPF program on a tracepoint runs for every hit, whatever CPU or task
 * its perf event was opened for, from the moment it is attached: so it is
 * attached once per tracepoint, it checks -C itself, a gate word in a
 * shared map says when it may write, and with -p (which must follow a
 * process tree) the engine keeps to perf. Syscall numbers that no probe
 * wants are dropped by the program through a bitmap in the same map.
 *
 * Wakeups: a record wakes the reader only when the bytes pending cross a
 * multiple of a quarter of the ring (once per quarter, not once per record
 * while the reader is behind); the engine's flush timer drains the rest,
 * as with perf's watermark. A ring's fd polls readable whenever it holds data, which
 * ktapd's own system calls would keep true forever: the loop watches an
 * epoll fd holding the ring edge-triggered instead, readable only after
 * a wakeup.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <asm/perf_regs.h>
#include <asm/ptrace.h>
#include <linux/bpf.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine_user.h"
#include "log.h"
#include "macro.h"
#include "syscalls.h"

/* Events a session may put on BPF; the others stay on perf. */
#define EU_BPF_MAX_EVENTS 64
/* Larger fixed-size records stay on perf (its sample size is a u16). */
#define EU_BPF_MAX_RAW 2048
#define EU_BPF_MAX_INSNS 1024

/* The sample the programs write: EU_SAMPLE_TYPE's layout, the period slot
 * holding the CPU (perf knows it from the ring, BPF has one ring). */
#define REC_PID 8
#define REC_TID 12
#define REC_TIME 16
#define REC_CPU 24
#define REC_RAW_SIZE 32
#define REC_RAW 36

/* The control map's single value, mapped into ktapd. */
struct eu_bpf_ctl {
	uint32_t enabled;
	uint32_t pad;
	uint64_t lost; /* ring full: records not written */
	/* then one bitmap of wanted syscall numbers per raw_syscalls event */
};

struct eu_bpf {
	int ring_fd, ctl_fd;
	int ep_fd; /* the ring, edge-triggered */
	size_t ring_size; /* data bytes, a power of two */
	size_t page;
	struct eu_bpf_ctl *ctl;
	size_t ctl_size;
	unsigned char *cons_page; /* consumer_pos, written by ktapd */
	unsigned char *prod; /* producer_pos page, then the data twice */
	uint64_t cons, prod_pos, published;
	uint64_t lost_seen;
	int *prog_fds;
	unsigned int nprogs;
	size_t bitmap_bytes;
	unsigned int nbitmaps;
	/*
	 * Counter probes' hits (asm_count): in the ctl value from counter_off,
	 * a row of ncounters u64 per CPU slot (the CPU number masked by
	 * nslots - 1: slots may be shared, the adds are atomic). Counter 0
	 * is the total of the others, then the uprobes', then the
	 * tracepoints' (a raw_syscalls event: one per syscall number).
	 * seen: what eu_bpf_fold() applied of each.
	 */
	unsigned int ncounters, nslots;
	uint32_t counter_off, counter_row;
	uint64_t *seen;
};

static int sys_bpf(enum bpf_cmd cmd, union bpf_attr *attr)
{
	int r = (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));

	return r < 0 ? -errno : r;
}

/* Assembling a program */

struct asm_buf {
	struct bpf_insn insn[EU_BPF_MAX_INSNS];
	unsigned int n;
	unsigned int to_out[8], nto_out; /* jumps to the common exit */
	bool overflow;
};

static void emit(struct asm_buf *a, uint8_t code, uint8_t dst, uint8_t src,
		 int16_t off, int32_t imm)
{
	if (a->n >= EU_BPF_MAX_INSNS) {
		a->overflow = true;
		return;
	}
	a->insn[a->n++] = (struct bpf_insn){ .code = code,
					     .dst_reg = dst,
					     .src_reg = src,
					     .off = off,
					     .imm = imm };
}

#define MOV_REG(a, d, s) emit(a, BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV_IMM(a, d, k) emit(a, BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, k)
#define ALU_IMM(a, op, d, k) emit(a, BPF_ALU64 | (op) | BPF_K, d, 0, 0, k)
#define ALU_REG(a, op, d, s) emit(a, BPF_ALU64 | (op) | BPF_X, d, s, 0, 0)
#define LDX(a, sz, d, s, o) emit(a, BPF_LDX | BPF_MEM | (sz), d, s, o, 0)
#define STX(a, sz, d, s, o) emit(a, BPF_STX | BPF_MEM | (sz), d, s, o, 0)
#define ST_IMM(a, sz, d, o, k) emit(a, BPF_ST | BPF_MEM | (sz), d, 0, o, k)
#define CALL(a, fn) emit(a, BPF_JMP | BPF_CALL, 0, 0, 0, fn)

/* A 64-bit immediate: a map's fd (PSEUDO_MAP_FD) or value (+off). */
static void ld_map(struct asm_buf *a, uint8_t dst, uint8_t pseudo, int fd,
		   int32_t off)
{
	emit(a, BPF_LD | BPF_DW | BPF_IMM, dst, pseudo, 0, fd);
	emit(a, 0, 0, 0, 0, off);
}

/* if (dst op k) goto out; patched by asm_end. */
static void jmp_out(struct asm_buf *a, uint8_t op, uint8_t dst, int32_t k)
{
	if (a->nto_out >= ELEMENTSOF(a->to_out)) {
		a->overflow = true;
		return;
	}
	a->to_out[a->nto_out++] = a->n;
	emit(a, BPF_JMP | op | BPF_K, dst, 0, 0, k);
}

/* What one program does: its event, size and filters. */
struct prog_spec {
	int id; /* tracefs id: common_type */
	uint32_t raw_size; /* fixed record size, a multiple of 4 */
	int cpu; /* -C, or -1 */
	int bitmap_off; /* in the ctl value, or -1 */
	/* raw_syscalls: numbers only counted (bitmap in the ctl value, or
	 * -1), at counter + nr */
	int count_bitmap_off;
	uint32_t counter;
	uint32_t nsyscalls;
	uint32_t wake_at; /* ring bytes pending that wake the reader */
};

enum { R0, R1, R2, R3, R4, R5, R6, R7, R8, R9, R10 };

/*
 *   r6 = ctx; r7 = &ctl
 *   if (!ctl->enabled) goto out
 *   if (cpu() != CPU) goto out                          (-C)
 *   nr = ctx->id; if (nr >= N || !(bitmap[nr/8] >> nr%8 & 1)) goto out
 *   r8 = ringbuf_reserve(ring, size, 0); if (!r8) { ctl->lost++; goto out }
 *   fill the sample: header, pid, tid, time, cpu, raw size, raw record
 *   ringbuf_submit(r8, FORCE_WAKEUP if this record made the bytes pending
 *                  cross a multiple of wake_at, else NO_WAKEUP)
 * out:
 *   return 0 (perf writes nothing)
 */
/* r6 = ctx; r7 = &ctl; the gate and -C. */
static void asm_prologue(struct asm_buf *a, const struct eu_bpf *b, int cpu)
{
	MOV_REG(a, R6, R1);
	ld_map(a, R7, BPF_PSEUDO_MAP_VALUE, b->ctl_fd, 0);
	LDX(a, BPF_W, R1, R7, offsetof(struct eu_bpf_ctl, enabled));
	jmp_out(a, BPF_JEQ, R1, 0);
	if (cpu >= 0) {
		CALL(a, BPF_FUNC_get_smp_processor_id);
		jmp_out(a, BPF_JNE, R0, cpu);
	}
}

/*
 * r8 = a record of rec bytes, its header, pid, tid and time written;
 * returns where the jump to "lost" is, for asm_epilogue.
 */
static unsigned int asm_reserve(struct asm_buf *a, const struct eu_bpf *b,
				uint32_t rec)
{
	unsigned int lost_at;

	ld_map(a, R1, BPF_PSEUDO_MAP_FD, b->ring_fd, 0);
	MOV_IMM(a, R2, (int32_t)rec);
	MOV_IMM(a, R3, 0);
	CALL(a, BPF_FUNC_ringbuf_reserve);
	lost_at = a->n;
	emit(a, BPF_JMP | BPF_JEQ | BPF_K, R0, 0, 0, 0); /* patched later */
	MOV_REG(a, R8, R0);
	/* struct perf_event_header: u32 type, u16 misc, u16 size */
	ST_IMM(a, BPF_W, R8, 0, PERF_RECORD_SAMPLE);
	ST_IMM(a, BPF_W, R8, 4, (int32_t)(rec << 16));
	CALL(a, BPF_FUNC_get_current_pid_tgid);
	STX(a, BPF_W, R8, R0, REC_TID);
	STX(a, BPF_W, R8, R0, REC_RAW + 4); /* common_pid */
	ALU_IMM(a, BPF_RSH, R0, 32);
	STX(a, BPF_W, R8, R0, REC_PID);
	CALL(a, BPF_FUNC_ktime_get_ns);
	STX(a, BPF_DW, R8, R0, REC_TIME);
	return lost_at;
}

/* Submit r8 (waking the reader per wake_at bytes), the exits, "lost". */
static void asm_epilogue(struct asm_buf *a, const struct eu_bpf *b,
			 uint32_t rec, uint32_t wake_at, unsigned int lost_at)
{
	unsigned int i;

	ld_map(a, R1, BPF_PSEUDO_MAP_FD, b->ring_fd, 0);
	MOV_IMM(a, R2, BPF_RB_AVAIL_DATA);
	CALL(a, BPF_FUNC_ringbuf_query);
	MOV_IMM(a, R2, BPF_RB_NO_WAKEUP);
	emit(a, BPF_JMP | BPF_JLT | BPF_K, R0, 0, 3, (int32_t)wake_at);
	ALU_IMM(a, BPF_AND, R0, (int32_t)(wake_at - 1));
	emit(a, BPF_JMP | BPF_JGE | BPF_K, R0, 0, 1,
	     (int32_t)((rec + BPF_RINGBUF_HDR_SZ + 7) & ~7u));
	MOV_IMM(a, R2, BPF_RB_FORCE_WAKEUP);
	MOV_REG(a, R1, R8);
	CALL(a, BPF_FUNC_ringbuf_submit);
	/* out: */
	for (i = 0; i < a->nto_out; i++)
		a->insn[a->to_out[i]].off = (int16_t)(a->n - a->to_out[i] - 1);
	MOV_IMM(a, R0, 0);
	emit(a, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	/* lost: ctl->lost += 1; return 0 */
	if (a->n < EU_BPF_MAX_INSNS)
		a->insn[lost_at].off = (int16_t)(a->n - lost_at - 1);
	MOV_IMM(a, R1, 1);
	emit(a, BPF_STX | BPF_ATOMIC | BPF_DW, R7, R1,
	     offsetof(struct eu_bpf_ctl, lost), BPF_ADD);
	MOV_IMM(a, R0, 0);
	emit(a, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

/*
 * counters[cpu() & (nslots - 1)][0] += 1 (the total) and [k] += 1, with
 * k = base, plus the syscall number at ctx + 8 when by_nr (checked below
 * nsyscalls by the caller's program, checked again here for the
 * verifier). Clobbers r0, r1, r9.
 */
static void asm_count(struct asm_buf *a, const struct eu_bpf *b,
		      uint32_t base, bool by_nr, uint32_t nsyscalls)
{
	if (by_nr) {
		LDX(a, BPF_DW, R9, R6, 8);
		jmp_out(a, BPF_JGE, R9, (int32_t)nsyscalls);
	}
	CALL(a, BPF_FUNC_get_smp_processor_id);
	ALU_IMM(a, BPF_AND, R0, (int32_t)(b->nslots - 1));
	ALU_IMM(a, BPF_MUL, R0, (int32_t)b->counter_row);
	ALU_REG(a, BPF_ADD, R0, R7);
	ALU_IMM(a, BPF_ADD, R0, (int32_t)b->counter_off);
	MOV_IMM(a, R1, 1);
	emit(a, BPF_STX | BPF_ATOMIC | BPF_DW, R0, R1, 0, BPF_ADD);
	ALU_IMM(a, BPF_ADD, R0, (int32_t)(8 * base));
	if (by_nr) {
		ALU_IMM(a, BPF_LSH, R9, 3);
		ALU_REG(a, BPF_ADD, R0, R9);
	}
	emit(a, BPF_STX | BPF_ATOMIC | BPF_DW, R0, R1, 0, BPF_ADD);
}

/*
 * raw_syscalls: r2 = bit nr of the bitmap at off in the ctl value, nr the
 * syscall number (the long at 8; out when not below nsyscalls).
 */
static void asm_nr_bit(struct asm_buf *a, int off, uint32_t nsyscalls)
{
	LDX(a, BPF_DW, R1, R6, 8);
	jmp_out(a, BPF_JGE, R1, (int32_t)nsyscalls);
	MOV_REG(a, R2, R1);
	ALU_IMM(a, BPF_RSH, R2, 3);
	ALU_REG(a, BPF_ADD, R2, R7);
	LDX(a, BPF_B, R2, R2, (int16_t)off);
	ALU_IMM(a, BPF_AND, R1, 7);
	ALU_REG(a, BPF_RSH, R2, R1);
	ALU_IMM(a, BPF_AND, R2, 1);
}

static void assemble(struct asm_buf *a, const struct eu_bpf *b,
		     const struct prog_spec *s)
{
	uint32_t rec = REC_RAW + s->raw_size, off;
	unsigned int lost_at;

	asm_prologue(a, b, s->cpu);
	if (s->bitmap_off >= 0) {
		asm_nr_bit(a, s->bitmap_off, s->nsyscalls);
		jmp_out(a, BPF_JEQ, R2, 0);
	}
	if (s->count_bitmap_off >= 0) {
		unsigned int skip;

		/* A number only counted: count it, write nothing. */
		asm_nr_bit(a, s->count_bitmap_off, s->nsyscalls);
		skip = a->n;
		emit(a, BPF_JMP | BPF_JEQ | BPF_K, R2, 0, 0, 0);
		asm_count(a, b, s->counter, true, s->nsyscalls);
		jmp_out(a, BPF_JA, 0, 0);
		a->insn[skip].off = (int16_t)(a->n - skip - 1);
	}
	lost_at = asm_reserve(a, b, rec);
	CALL(a, BPF_FUNC_get_smp_processor_id);
	STX(a, BPF_DW, R8, R0, REC_CPU);
	ST_IMM(a, BPF_W, R8, REC_RAW_SIZE, (int32_t)s->raw_size);
	/* The record's first 8 bytes hold perf's regs pointer by now: the
	 * program may not read them. Rebuild common_type; flags and
	 * preempt_count read as 0, common_pid is the tid (stored above). */
	ST_IMM(a, BPF_W, R8, REC_RAW, s->id & 0xffff);
	for (off = 8; off < s->raw_size; off += 4) {
		LDX(a, BPF_W, R1, R6, (int16_t)off);
		STX(a, BPF_W, R8, R1, (int16_t)(REC_RAW + off));
	}
	asm_epilogue(a, b, rec, s->wake_at, lost_at);
}

/* Load what a holds as a program of that type. */
static int load_insns(const struct asm_buf *a, enum bpf_prog_type type,
		      const char *name, char *err, size_t errlen)
{
	_cleanup_free_ char *log = NULL;
	union bpf_attr attr;
	int fd;

	if (a->overflow) {
		snprintf(err, errlen, "BPF program for '%s' too long", name);
		return -E2BIG;
	}
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = type;
	attr.insns = (uint64_t)(uintptr_t)a->insn;
	attr.insn_cnt = a->n;
	attr.license = (uint64_t)(uintptr_t)"GPL";
	fd = sys_bpf(BPF_PROG_LOAD, &attr);
	if (fd >= 0 || fd == -EPERM)
		goto out;
	/* Again with the verifier's log, for the message. */
	log = calloc(1, 65536);
	if (log) {
		attr.log_level = 1;
		attr.log_buf = (uint64_t)(uintptr_t)log;
		attr.log_size = 65536;
		(void)sys_bpf(BPF_PROG_LOAD, &attr);
		log_debug("BPF verifier log for '%s':\n%s", name, log);
	}
out:
	if (fd < 0)
		snprintf(err, errlen, "BPF program for '%s' refused: %s", name,
			 strerror(-fd));
	return fd;
}

static int load_prog(struct eu_bpf *b, const struct prog_spec *s,
		     const char *name, char *err, size_t errlen)
{
	_cleanup_free_ struct asm_buf *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	assemble(a, b, s);
	return load_insns(a, BPF_PROG_TYPE_TRACEPOINT, name, err, errlen);
}

/* Where perf's user registers are in the struct pt_regs of a uprobe. */
static const int16_t pt_regs_off[] = {
	[PERF_REG_X86_AX] = offsetof(struct pt_regs, rax),
	[PERF_REG_X86_BX] = offsetof(struct pt_regs, rbx),
	[PERF_REG_X86_CX] = offsetof(struct pt_regs, rcx),
	[PERF_REG_X86_DX] = offsetof(struct pt_regs, rdx),
	[PERF_REG_X86_SI] = offsetof(struct pt_regs, rsi),
	[PERF_REG_X86_DI] = offsetof(struct pt_regs, rdi),
	[PERF_REG_X86_BP] = offsetof(struct pt_regs, rbp),
	[PERF_REG_X86_SP] = offsetof(struct pt_regs, rsp),
	[PERF_REG_X86_IP] = offsetof(struct pt_regs, rip),
	[PERF_REG_X86_R8] = offsetof(struct pt_regs, r8),
	[PERF_REG_X86_R9] = offsetof(struct pt_regs, r9),
	[PERF_REG_X86_R10] = offsetof(struct pt_regs, r10),
	[PERF_REG_X86_R11] = offsetof(struct pt_regs, r11),
	[PERF_REG_X86_R12] = offsetof(struct pt_regs, r12),
	[PERF_REG_X86_R13] = offsetof(struct pt_regs, r13),
	[PERF_REG_X86_R14] = offsetof(struct pt_regs, r14),
	[PERF_REG_X86_R15] = offsetof(struct pt_regs, r15),
};

/* A uprobe sample's trace record: trace_entry, vaddr[0], padding. */
#define UP_RAW_SIZE 20
#define UP_REGS_ABI (REC_RAW + UP_RAW_SIZE)

/*
 *   (gate, -C)
 *   r8 = ringbuf_reserve(...): header, pid, tid, time
 *   ID slot = u->id | cpu() << 32; the trace record with vaddr[0] = ip
 *   regs: abi 64, then each of u->regs from ctx (struct pt_regs)
 *   stack: size, probe_read_user(size bytes at sp), dyn_size (0 if the
 *          read failed)
 *   (submit)
 */
int eu_bpf_uprobe_prog(struct engine_session *es,
		       const struct eu_bpf_uprobe *u, const char *name,
		       char *err, size_t errlen)
{
	_cleanup_free_ struct asm_buf *a = calloc(1, sizeof(*a));
	struct eu_bpf *b = es->bpf;
	uint32_t rec, off;
	unsigned int lost_at;
	int r, fd;

	if (!a)
		return -ENOMEM;
	rec = UP_REGS_ABI + 8 + 8 * (uint32_t)__builtin_popcountll(u->regs);
	if (u->stack)
		rec += 16 + u->stack;
	asm_prologue(a, b, es->cpu);
	lost_at = asm_reserve(a, b, rec);
	CALL(a, BPF_FUNC_get_smp_processor_id);
	ALU_IMM(a, BPF_LSH, R0, 32);
	emit(a, BPF_LD | BPF_DW | BPF_IMM, R1, 0, 0, (int32_t)u->id);
	emit(a, 0, 0, 0, 0, (int32_t)(u->id >> 32));
	ALU_REG(a, BPF_OR, R0, R1);
	STX(a, BPF_DW, R8, R0, REC_CPU);
	ST_IMM(a, BPF_W, R8, REC_RAW_SIZE, UP_RAW_SIZE);
	ST_IMM(a, BPF_W, R8, REC_RAW, 0); /* type 0, as perf's */
	LDX(a, BPF_DW, R1, R6, pt_regs_off[PERF_REG_X86_IP]);
	STX(a, BPF_DW, R8, R1, REC_RAW + 8);
	ST_IMM(a, BPF_W, R8, REC_RAW + 16, 0);
	ST_IMM(a, BPF_DW, R8, UP_REGS_ABI, PERF_SAMPLE_REGS_ABI_64);
	off = UP_REGS_ABI + 8;
	for (r = 0; r < (int)ELEMENTSOF(pt_regs_off); r++) {
		if (!(u->regs & (1ull << r)))
			continue;
		LDX(a, BPF_DW, R1, R6, pt_regs_off[r]);
		STX(a, BPF_DW, R8, R1, (int16_t)off);
		off += 8;
	}
	if (u->stack) {
		ST_IMM(a, BPF_DW, R8, (int16_t)off, (int32_t)u->stack);
		MOV_REG(a, R1, R8);
		ALU_IMM(a, BPF_ADD, R1, (int32_t)off + 8);
		MOV_IMM(a, R2, (int32_t)u->stack);
		LDX(a, BPF_DW, R3, R6, pt_regs_off[PERF_REG_X86_SP]);
		CALL(a, BPF_FUNC_probe_read_user);
		off += 8 + u->stack;
		ST_IMM(a, BPF_DW, R8, (int16_t)off, (int32_t)u->stack);
		emit(a, BPF_JMP | BPF_JEQ | BPF_K, R0, 0, 1, 0);
		ST_IMM(a, BPF_DW, R8, (int16_t)off, 0);
	}
	asm_epilogue(a, b, rec, (uint32_t)(b->ring_size / 4), lost_at);
	fd = load_insns(a, BPF_PROG_TYPE_KPROBE, name, err, errlen);
	if (fd < 0)
		return fd;
	b->prog_fds[b->nprogs++] = fd;
	return fd;
}

/*
 *   (gate, -C)
 *   counters[cpu() & (nslots - 1)][0, k] += 1 (atomic)
 */
static int counter_prog(struct eu_bpf *b, int cpu, unsigned int k,
			enum bpf_prog_type type, const char *name, char *err,
			size_t errlen)
{
	_cleanup_free_ struct asm_buf *a = calloc(1, sizeof(*a));
	unsigned int i;
	int fd;

	if (!a)
		return -ENOMEM;
	asm_prologue(a, b, cpu);
	asm_count(a, b, k, false, 0);
	/* out: */
	for (i = 0; i < a->nto_out; i++)
		a->insn[a->to_out[i]].off = (int16_t)(a->n - a->to_out[i] - 1);
	MOV_IMM(a, R0, 0);
	emit(a, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	fd = load_insns(a, type, name, err, errlen);
	if (fd < 0)
		return fd;
	b->prog_fds[b->nprogs++] = fd;
	return fd;
}

int eu_bpf_counter_prog(struct engine_session *es, unsigned int k,
			const char *name, char *err, size_t errlen)
{
	return counter_prog(es->bpf, es->cpu, k, BPF_PROG_TYPE_KPROBE, name,
			    err, errlen);
}

static bool eligible(const struct eu_event *ev);

static bool all_counters(const struct engine_session *es,
			 const struct eu_event *ev)
{
	return eu_probes_counted(es, ev->probes, ev->nprobes);
}

/*
 * Number the counters (0 is the total): the uprobes', then one per
 * BPF-eligible tracepoint whose probes are all counters, and for a
 * raw_syscalls event (probes of its own aside) one per syscall number
 * when some syscall event it feeds is counted. Returns how many, the
 * total included, or 0 when nothing is counted.
 */
static unsigned int assign_counters(struct engine_session *es)
{
	unsigned int i, nr, n = 1 + eu_uprobe_bpf_counters(es);
	struct eu_event *ev;

	for (i = 0; i < es->nevents; i++) {
		ev = es->events[i];
		ev->counter = 0;
		if (!eligible(ev))
			continue;
		if (!ev->demux) {
			if (all_counters(es, ev))
				ev->counter = n++;
			continue;
		}
		if (ev->nprobes)
			continue;
		for (nr = 0; nr < syscalls_count(); nr++)
			if (ev->demux[nr] && all_counters(es, ev->demux[nr]))
				break;
		if (nr < syscalls_count()) {
			ev->counter = n;
			n += syscalls_count();
		}
	}
	es->ncounted = n - 1;
	return n > 1 ? n : 0;
}

/* How many syscall events raw_syscalls event ev counts. */
static unsigned int count_events(const struct engine_session *es,
				 const struct eu_event *ev)
{
	unsigned int nr, n = 0;

	for (nr = 0; nr < syscalls_count(); nr++)
		n += ev->demux[nr] && all_counters(es, ev->demux[nr]);
	return n;
}

/* The numbers of raw_syscalls event ev whose events are only counted. */
static void count_bitmap_fill(const struct engine_session *es,
			      struct eu_bpf *b, const struct eu_event *ev,
			      unsigned int k)
{
	unsigned char *bm = (unsigned char *)(b->ctl + 1) +
			    k * b->bitmap_bytes;
	unsigned int nr;

	for (nr = 0; nr < syscalls_count(); nr++)
		if (ev->demux[nr] && all_counters(es, ev->demux[nr]))
			bm[nr / 8] |= (unsigned char)(1u << (nr % 8));
}

/* Counter k's hits since the last look, applied to ev's probes. */
static bool fold_event(struct engine_session *es, const struct eu_event *ev,
		       unsigned int k)
{
	uint64_t sum = eu_bpf_counter_read(es, k), runs;
	unsigned int i;

	runs = sum - es->bpf->seen[k];
	es->bpf->seen[k] = sum;
	for (i = 0; runs && i < ev->nprobes; i++)
		if (!eu_run_counted(es, ev->probes[i], ev->name, runs))
			return false;
	return true;
}

void eu_bpf_fold(struct engine_session *es)
{
	struct eu_bpf *b = es->bpf;
	const struct eu_event *ev;
	uint64_t total = eu_bpf_counter_read(es, 0);
	unsigned int i, nr;

	if (total == b->seen[0])
		return;
	b->seen[0] = total;
	eu_uprobe_fold(es);
	for (i = 0; i < es->nevents && es->state == EU_RUNNING; i++) {
		ev = es->events[i];
		if (!ev->counter || !ev->bpf)
			continue;
		if (!ev->demux) {
			if (!fold_event(es, ev, ev->counter))
				return;
			continue;
		}
		for (nr = 0; nr < syscalls_count(); nr++)
			if (ev->demux[nr] &&
			    !fold_event(es, ev->demux[nr], ev->counter + nr))
				return;
	}
}

uint64_t eu_bpf_counter_read(const struct engine_session *es, unsigned int k)
{
	const struct eu_bpf *b = es->bpf;
	const unsigned char *p = (const unsigned char *)b->ctl +
				 b->counter_off + 8 * k;
	uint64_t sum = 0;
	unsigned int i;

	for (i = 0; i < b->nslots; i++, p += b->counter_row)
		sum += __atomic_load_n((const uint64_t *)p, __ATOMIC_RELAXED);
	return sum;
}

static int map_create(enum bpf_map_type type, uint32_t key, uint32_t value,
		      uint32_t entries, uint32_t flags)
{
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.map_type = type;
	attr.key_size = key;
	attr.value_size = value;
	attr.max_entries = entries;
	attr.map_flags = flags;
	return sys_bpf(BPF_MAP_CREATE, &attr);
}

/* The record size of an event without dynamic fields, else 0. */
static uint32_t fixed_size(const struct eu_event *ev)
{
	struct tep_format_field *f;
	uint32_t end = 0;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		f = pass ? ev->tep->format.fields :
			   ev->tep->format.common_fields;
		for (; f; f = f->next) {
			if (f->flags & TEP_FIELD_IS_DYNAMIC)
				return 0;
			if ((uint32_t)(f->offset + f->size) > end)
				end = (uint32_t)(f->offset + f->size);
		}
	}
	end = (end + 3) & ~3u;
	return end >= 8 && end <= EU_BPF_MAX_RAW ? end : 0;
}

/* Programs write no callchain: events stack() needs take perf samples. */
static bool eligible(const struct eu_event *ev)
{
	return ev->direct && ev->kind == EU_EVENT_PLAIN && !ev->stack &&
	       fixed_size(ev);
}

bool eu_bpf_wanted(const struct engine_session *es)
{
	unsigned int nup = eu_uprobe_bpf_count(es);
	const char *env = getenv("KTAPD_BPF");
	unsigned int i, n = 0;

	if (env && !strcmp(env, "0"))
		return false;
	/* -p and -- cmd follow a process tree: perf's inherit does that. */
	if (es->target_pid > 0)
		return false;
	for (i = 0; i < es->nevents; i++)
		n += eligible(es->events[i]);
	return n + nup > 0 && n <= EU_BPF_MAX_EVENTS;
}

static int ring_map(struct eu_bpf *b)
{
	void *p;

	p = mmap(NULL, b->page, PROT_READ | PROT_WRITE, MAP_SHARED,
		 b->ring_fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	b->cons_page = p;
	/* The data is mapped twice in a row: records never wrap. */
	p = mmap(NULL, b->page + 2 * b->ring_size, PROT_READ, MAP_SHARED,
		 b->ring_fd, (off_t)b->page);
	if (p == MAP_FAILED)
		return -errno;
	b->prod = p;
	p = mmap(NULL, b->ctl_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		 b->ctl_fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	b->ctl = p;
	return 0;
}

static int ring_watch(struct eu_bpf *b)
{
	struct epoll_event e = { .events = EPOLLIN | EPOLLET };

	b->ep_fd = epoll_create1(EPOLL_CLOEXEC);
	if (b->ep_fd < 0)
		return -errno;
	if (epoll_ctl(b->ep_fd, EPOLL_CTL_ADD, b->ring_fd, &e) < 0)
		return -errno;
	return 0;
}

static void bpf_free(struct eu_bpf *b)
{
	unsigned int i;

	if (!b)
		return;
	for (i = 0; i < b->nprogs; i++)
		close(b->prog_fds[i]);
	free(b->prog_fds);
	free(b->seen);
	if (b->ctl)
		munmap(b->ctl, b->ctl_size);
	if (b->prod)
		munmap(b->prod, b->page + 2 * b->ring_size);
	if (b->cons_page)
		munmap(b->cons_page, b->page);
	if (b->ep_fd >= 0)
		close(b->ep_fd);
	if (b->ctl_fd >= 0)
		close(b->ctl_fd);
	if (b->ring_fd >= 0)
		close(b->ring_fd);
	free(b);
}

static void bitmap_fill(struct eu_bpf *b, const struct eu_event *ev,
			unsigned int k)
{
	unsigned char *bm = (unsigned char *)(b->ctl + 1) +
			    k * b->bitmap_bytes;
	unsigned int nr;

	for (nr = 0; nr < syscalls_count(); nr++)
		if (ev->demux[nr])
			bm[nr / 8] |= (unsigned char)(1u << (nr % 8));
}

int eu_bpf_attach(struct engine_session *es, struct perf_event_attr *attr,
		  int cpu, int prog, const char *what, char *err,
		  size_t errlen)
{
	int fd, r;

	attr->size = sizeof(*attr);
	attr->sample_period = 1;
	attr->sample_type = PERF_SAMPLE_RAW;
	attr->disabled = 1;
	fd = perf_event_open_fd(attr, -1, cpu, -1);
	if (fd < 0) {
		snprintf(err, errlen, "%s: perf_event_open failed: %s", what,
			 strerror(-fd));
		return fd;
	}
	/* Its fd goes with the others: closing it is the slow part. */
	r = eu_perf_keep_fd(es, fd);
	if (r < 0) {
		close(fd);
		return r;
	}
	if (ioctl(fd, PERF_EVENT_IOC_SET_BPF, prog) < 0) {
		r = -errno;
		snprintf(err, errlen, "%s: cannot attach BPF: %s", what,
			 strerror(-r));
		return r;
	}
	return 0;
}

/* Attach a program to ev's tracepoint, once: it runs for every CPU. */
static int attach(struct engine_session *es, struct eu_event *ev, int prog,
		  int cpu, char *err, size_t errlen)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_TRACEPOINT,
		.config = (uint64_t)ev->id,
	};
	char what[256];

	snprintf(what, sizeof(what), "event '%s:%s'", ev->tep->system,
		 ev->name);
	return eu_bpf_attach(es, &attr, cpu, prog, what, err, errlen);
}

static size_t ring_bytes(const struct engine_session *es, int ncpus)
{
	size_t size = es->ring_size * (size_t)(es->cpu >= 0 ? 1 : ncpus);
	size_t p = 1;

	while (p < size)
		p <<= 1;
	return p;
}

int eu_bpf_open(struct engine_session *es, int ncpus, int first_cpu,
		char *err, size_t errlen)
{
	struct eu_bpf *b;
	struct prog_spec s;
	unsigned int i, nbitmaps = 0, k = 0, nfds = es->nfds;
	int r, fd;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->ring_fd = b->ctl_fd = b->ep_fd = -1;
	b->page = (size_t)sysconf(_SC_PAGESIZE);
	b->ring_size = ring_bytes(es, ncpus);
	if (b->ring_size < b->page)
		b->ring_size = b->page;
	b->bitmap_bytes = (syscalls_count() + 7) / 8;
	for (i = 0; i < es->nevents; i++)
		if (eligible(es->events[i]) && es->events[i]->demux &&
		    !es->events[i]->nprobes)
			nbitmaps++;
	/* The bitmaps of numbers wanted, then of numbers only counted. */
	b->ctl_size = sizeof(struct eu_bpf_ctl) +
		      2 * nbitmaps * b->bitmap_bytes;
	b->ncounters = assign_counters(es);
	if (b->ncounters) {
		for (b->nslots = 1; b->nslots < (unsigned int)ncpus;)
			b->nslots <<= 1;
		b->counter_off = (uint32_t)(b->ctl_size + 63) & ~63u;
		b->counter_row = (b->ncounters * 8 + 63) & ~63u;
		b->ctl_size = b->counter_off + b->nslots * b->counter_row;
	}
	b->ctl_size = (b->ctl_size + b->page - 1) / b->page * b->page;
	b->prog_fds = calloc(es->nevents + eu_uprobe_bpf_count(es),
			     sizeof(*b->prog_fds));
	b->seen = calloc(b->ncounters + 1, sizeof(*b->seen));
	r = -ENOMEM;
	if (!b->prog_fds || !b->seen)
		goto fail;
	r = b->ring_fd = map_create(BPF_MAP_TYPE_RINGBUF, 0, 0,
				    (uint32_t)b->ring_size, 0);
	if (r < 0) {
		snprintf(err, errlen, "cannot create a BPF ring buffer: %s",
			 strerror(-r));
		goto fail;
	}
	r = b->ctl_fd = map_create(BPF_MAP_TYPE_ARRAY, 4,
				   (uint32_t)b->ctl_size, 1, BPF_F_MMAPABLE);
	if (r < 0) {
		snprintf(err, errlen, "cannot create a BPF map: %s",
			 strerror(-r));
		goto fail;
	}
	r = ring_map(b);
	if (r < 0) {
		snprintf(err, errlen, "cannot map the BPF ring: %s",
			 strerror(-r));
		goto fail;
	}
	r = ring_watch(b);
	if (r < 0) {
		snprintf(err, errlen, "cannot watch the BPF ring: %s",
			 strerror(-r));
		goto fail;
	}
	for (i = 0; i < es->nevents; i++) {
		struct eu_event *ev = es->events[i];

		if (!eligible(ev))
			continue;
		s = (struct prog_spec){
			.id = ev->id,
			.raw_size = fixed_size(ev),
			.cpu = es->cpu,
			.bitmap_off = -1,
			.count_bitmap_off = -1,
			.nsyscalls = (uint32_t)syscalls_count(),
			.wake_at = (uint32_t)(b->ring_size / 4),
		};
		if (ev->demux && !ev->nprobes) {
			s.bitmap_off = (int)(sizeof(struct eu_bpf_ctl) +
					     k * b->bitmap_bytes);
			if (ev->counter) {
				log_debug("%s:%s: %u syscall events counted "
					  "by BPF", ev->tep->system, ev->name,
					  count_events(es, ev));
				s.count_bitmap_off =
					(int)(sizeof(struct eu_bpf_ctl) +
					      (nbitmaps + k) * b->bitmap_bytes);
				s.counter = ev->counter;
				count_bitmap_fill(es, b, ev, nbitmaps + k);
			}
			bitmap_fill(b, ev, k++);
		}
		if (ev->counter && !ev->demux)
			log_debug("%s:%s: hits counted by BPF",
				  ev->tep->system, ev->name);
		if (ev->counter && !ev->demux)
			fd = counter_prog(b, es->cpu, ev->counter,
					  BPF_PROG_TYPE_TRACEPOINT, ev->name,
					  err, errlen);
		else
			fd = load_prog(b, &s, ev->name, err, errlen);
		if (fd < 0) {
			r = fd;
			goto fail;
		}
		if (!ev->counter || ev->demux)
			b->prog_fds[b->nprogs++] = fd;
		r = attach(es, ev, fd, es->cpu >= 0 ? es->cpu : first_cpu,
			   err, errlen);
		if (r < 0)
			goto fail;
		ev->bpf = true;
	}
	b->nbitmaps = k;
	es->bpf = b;
	r = eu_uprobe_bpf_open(es, es->cpu >= 0 ? es->cpu : first_cpu, err,
			       errlen);
	if (r < 0) {
		es->bpf = NULL;
		eu_uprobe_bpf_reset(es);
		goto fail;
	}
	log_debug("Tracepoints through BPF: %u events, a %zu-byte ring",
		  b->nprogs, b->ring_size);
	return 0;
fail:
	/*
	 * The perf events already given a program go: left open, they kept
	 * the perf samples this session falls back to from arriving at all
	 * (sched_switch beside sched_process_exit, whose BPF attach 6.18
	 * refuses: tests/engine argstr_tracepoints).
	 */
	while (es->nfds > nfds)
		close(es->fds[--es->nfds]);
	for (i = 0; i < es->nevents; i++) {
		es->events[i]->bpf = false;
		es->events[i]->counter = 0;
	}
	es->ncounted = 0;
	bpf_free(b);
	return r;
}

int eu_bpf_fd(const struct engine_session *es)
{
	return es->bpf->ep_fd;
}

void eu_bpf_gate(struct engine_session *es, bool on)
{
	__atomic_store_n(&es->bpf->ctl->enabled, on, __ATOMIC_RELEASE);
}

void eu_bpf_count_lost(struct engine_session *es)
{
	struct eu_bpf *b = es->bpf;
	uint64_t lost = __atomic_load_n(&b->ctl->lost, __ATOMIC_RELAXED);

	es->lost += lost - b->lost_seen;
	b->lost_seen = lost;
}

void eu_bpf_release(struct engine_session *es)
{
	bpf_free(TAKE_PTR(es->bpf));
}

/* Reading: the ring holds 8-byte headers (len with BUSY and DISCARD bits,
 * page offset), each followed by a record, 8-aligned. */

bool eu_bpf_begin(struct engine_session *es)
{
	struct eu_bpf *b = es->bpf;
	struct epoll_event e;

	/* Take the wakeup, if any: the epoll fd stays quiet until the next. */
	(void)epoll_wait(b->ep_fd, &e, 1, 0);
	b->prod_pos = __atomic_load_n((uint64_t *)b->prod, __ATOMIC_ACQUIRE);
	return b->prod_pos != b->cons;
}

const struct perf_event_header *eu_bpf_peek(struct engine_session *es)
{
	struct eu_bpf *b = es->bpf;
	const unsigned char *hdr;
	uint32_t len;

	while (b->cons != b->prod_pos) {
		hdr = b->prod + b->page + (b->cons & (b->ring_size - 1));
		len = __atomic_load_n((const uint32_t *)hdr, __ATOMIC_ACQUIRE);
		if (len & BPF_RINGBUF_BUSY_BIT)
			return NULL; /* still being written */
		if (!(len & BPF_RINGBUF_DISCARD_BIT) &&
		    (len & ~BPF_RINGBUF_DISCARD_BIT) >=
			    sizeof(struct perf_event_header))
			return (const void *)(hdr + BPF_RINGBUF_HDR_SZ);
		eu_bpf_consume(es);
	}
	return NULL;
}

void eu_bpf_consume(struct engine_session *es)
{
	struct eu_bpf *b = es->bpf;
	const unsigned char *hdr =
		b->prod + b->page + (b->cons & (b->ring_size - 1));
	uint32_t len;

	memcpy(&len, hdr, 4);
	len &= ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
	b->cons += (len + BPF_RINGBUF_HDR_SZ + 7) & ~7u;
}

void eu_bpf_publish(struct engine_session *es)
{
	struct eu_bpf *b = es->bpf;

	if (b->published == b->cons)
		return;
	__atomic_store_n((uint64_t *)b->cons_page, b->cons, __ATOMIC_RELEASE);
	b->published = b->cons;
}

bool eu_bpf_half_read(const struct engine_session *es)
{
	const struct eu_bpf *b = es->bpf;

	return b->cons - b->published > b->ring_size / 4;
}

int32_t eu_bpf_cpu(const struct perf_event_header *h)
{
	uint64_t cpu;

	memcpy(&cpu, (const unsigned char *)h + REC_CPU, 8);
	return (int32_t)cpu;
}
