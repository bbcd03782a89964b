// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The HVM context as Xen 4.17 marshals it (xen/arch/x86/hvm/save.c and
 * hvm.c: hvm_save, hvm_save_one, hvm_load, hvm_save_cpu_ctxt,
 * hvm_load_cpu_ctxt): a header record, one CPU record per online vCPU and
 * an end marker; and the vcpu_guest_context of XEN_DOMCTL_get/
 * setvcpucontext (xen/arch/x86/domctl.c arch_get_info_guest,
 * xen/arch/x86/domain.c arch_set_info_guest).
 */
#include <errno.h>
#include <string.h>

#include "stub/base/log.h"
#include "tests/xensim/simd.h"

#define DESC_SIZE sizeof(struct hvm_save_descriptor)
#define CPU_SIZE sizeof(struct hvm_hw_cpu)
#define HEADER_SIZE sizeof(struct hvm_save_header)

/* CPUID leaf 1 EAX the simulated hosts report in the save header. */
#define SIM_CPUID1_INTEL 0x000906eau
#define SIM_CPUID1_AMD 0x00a20f10u

static void put_desc(struct strbuf *out, uint16_t type, uint16_t inst,
		     uint32_t len)
{
	struct hvm_save_descriptor d = {
		.typecode = type, .instance = inst, .length = len,
	};

	strbuf_add(out, &d, sizeof(d));
}

size_t sim_hvm_save_size(const struct sim_domain *d)
{
	return 2 * DESC_SIZE + HEADER_SIZE +
	       d->nr_vcpus * (DESC_SIZE + CPU_SIZE);
}

static void save_cpu(const struct sim_vcpu *v, struct hvm_hw_cpu *c)
{
	*c = v->r;
	/* pending_event is what the VMCS holds for the next entry: the
	 * injection requested through XEN_DMOP_inject_event is kept apart
	 * (v->arch.hvm.inject_event) and is not part of the record. */
	c->pending_event = 0;
	c->error_code = 0;
	c->pad0 = 0;
}

int sim_hvm_save(struct sim_domain *d, struct strbuf *out)
{
	struct hvm_save_header hdr = {
		.magic = HVM_FILE_MAGIC,
		.version = HVM_FILE_VERSION,
		.changeset = ~0ull,
		.cpuid = d->vendor == SIM_AMD ? SIM_CPUID1_AMD
					       : SIM_CPUID1_INTEL,
		.gtsc_khz = 2000000,
	};
	unsigned i;

	if (d->dying)
		return -EINVAL;
	put_desc(out, HVM_SAVE_CODE(HEADER), 0, HEADER_SIZE);
	strbuf_add(out, &hdr, sizeof(hdr));
	for (i = 0; i < d->nr_vcpus; i++) {
		struct hvm_hw_cpu c;

		if (!d->vcpu[i].online)
			continue;
		save_cpu(&d->vcpu[i], &c);
		put_desc(out, HVM_SAVE_CODE(CPU), (uint16_t)i, CPU_SIZE);
		strbuf_add(out, &c, sizeof(c));
	}
	put_desc(out, HVM_SAVE_CODE(END), 0, 0);
	return 0;
}

int sim_hvm_save_one(struct sim_domain *d, unsigned type, unsigned instance,
		     uint64_t *bufsz, bool query, struct strbuf *out)
{
	struct hvm_hw_cpu c;

	if (d->dying || type > HVM_SAVE_CODE_MAX ||
	    type == HVM_SAVE_CODE(END) || type == HVM_SAVE_CODE(HEADER))
		return -EINVAL;
	if (type != HVM_SAVE_CODE(CPU)) {
		log_warn(LC_TARGET, "d%u: HVM save record type %u is not modelled (only CPU is)",
			 d->domid, type);
		return -ENOSYS;
	}
	if (instance >= d->nr_vcpus)
		return -ENOENT;
	if (!d->vcpu[instance].online)
		return -ENODATA;
	if (query) {
		*bufsz = CPU_SIZE;
		return 0;
	}
	if (*bufsz < CPU_SIZE)
		return -ENOBUFS;
	save_cpu(&d->vcpu[instance], &c);
	strbuf_add(out, &c, sizeof(c));
	*bufsz = CPU_SIZE;
	return 0;
}

/* ---- loading ---- */

#define CR0_PE (1ull << 0)
#define CR0_ET (1ull << 4)
#define CR0_PG (1ull << 31)
/* CR0 bits a guest can hold: PE MP EM TS ET NE WP AM NW CD PG. */
#define CR0_VALID 0xe005003full
#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)
#define EFER_SVME (1ull << 12)
#define EFER_FFXSE (1ull << 14)

/*
 * CR4 bits hvm_cr4_guest_valid_bits() allows for the CPU policy xensim
 * gives every guest: VME PVI TSD DE PSE PAE MCE PGE PCE OSFXSR OSXMMEXCPT
 * UMIP FSGSBASE PCIDE OSXSAVE SMEP SMAP PKE. Not VMXE (no nested
 * virtualisation) and, in Xen 4.17, never LA57.
 */
#define CR4_VALID 0x770fffull

const char *sim_check_cpu_record(const struct sim_domain *d,
				 const struct hvm_hw_cpu *c)
{
	uint64_t efer_known = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE |
			      EFER_SVME | EFER_FFXSE;

	if (c->pad0)
		return "pad0 is not zero";
	if ((c->cr0 & ~CR0_VALID & 0xffffffffull) || (c->cr0 >> 32) ||
	    !(c->cr0 & CR0_ET) || (c->cr0 & (CR0_PE | CR0_PG)) == CR0_PG)
		return "bad CR0";
	if (c->cr4 & ~CR4_VALID)
		return "bad CR4";
	if (c->msr_efer & ~efer_known)
		return "bad EFER: unknown bits set";
	if (c->msr_efer & EFER_SVME)
		return "bad EFER: SVME without nested virt";
	if ((c->msr_efer & EFER_FFXSE) && d->vendor != SIM_AMD)
		return "bad EFER: FFXSE without feature";
	if ((c->msr_efer & EFER_LMA) &&
	    (!(c->msr_efer & EFER_LME) || !(c->cr0 & CR0_PG)))
		return "bad EFER: LMA/LME/CR0.PG inconsistency";
	if (c->cr3 >> SIM_MAXPHYSADDR)
		return "bad CR3";
	if (c->flags & ~XEN_X86_FPU_INITIALISED)
		return "bad flags value in CPU context";
	if (c->msr_tsc_aux != (uint32_t)c->msr_tsc_aux)
		return "bad MSR_TSC_AUX";
	if (c->pending_valid &&
	    (c->pending_type == 1 || c->pending_type > 6 ||
	     c->pending_reserved != 0))
		return "bad pending event";
	return NULL;
}

static uint32_t unfold_arbytes(uint32_t a)
{
	/* Older Xen saved VMCS access rights unconverted. */
	if ((a & 0xf000) && !(a & 0x0f00))
		a = (a & 0xff) | ((a >> 4) & 0xf00);
	return a;
}

static void fpu_reset(uint8_t fpu[512])
{
	memset(fpu, 0, 512);
	fpu[0] = 0x40;		/* FCW_RESET */
	fpu[24] = 0x80;		/* MXCSR 0x1f80 */
	fpu[25] = 0x1f;
}

/* Whether record c puts vCPU v back where it was: other registers than
 * its own (the fields a CPU's progress changes). */
static bool record_differs(const struct sim_vcpu *v, const struct hvm_hw_cpu *c)
{
	const struct hvm_hw_cpu *r = &v->r;

	return c->rip != r->rip || c->rsp != r->rsp || c->rax != r->rax ||
	       c->rbx != r->rbx || c->rcx != r->rcx || c->rdx != r->rdx ||
	       c->rsi != r->rsi || c->rdi != r->rdi || c->rbp != r->rbp ||
	       c->r8 != r->r8 || c->r9 != r->r9 || c->r10 != r->r10 ||
	       c->r11 != r->r11 || c->r12 != r->r12 || c->r13 != r->r13 ||
	       c->r14 != r->r14 || c->r15 != r->r15 || c->cr3 != r->cr3;
}

static int load_cpu(struct sim_domain *d, const struct hvm_save_descriptor *desc,
		    const uint8_t *data, const bool *was_running)
{
	struct hvm_hw_cpu c;
	struct sim_vcpu *v;
	const char *err;

	if (desc->instance >= d->nr_vcpus) {
		log_warn(LC_TARGET, "HVM%u restore: dom%u has no vcpu%u",
			 d->domid, d->domid, desc->instance);
		return -EINVAL;
	}
	v = &d->vcpu[desc->instance];
	/* hvm_load_entry_zeroextend: shorter records are zero-extended. */
	memset(&c, 0, sizeof(c));
	memcpy(&c, data, desc->length);
	err = sim_check_cpu_record(d, &c);
	if (err) {
		log_warn(LC_TARGET, "HVM%u restore: vcpu%u: %s", d->domid,
			 desc->instance, err);
		return -EINVAL;
	}
	c.cs_arbytes = unfold_arbytes(c.cs_arbytes);
	c.ds_arbytes = unfold_arbytes(c.ds_arbytes);
	c.es_arbytes = unfold_arbytes(c.es_arbytes);
	c.fs_arbytes = unfold_arbytes(c.fs_arbytes);
	c.gs_arbytes = unfold_arbytes(c.gs_arbytes);
	c.ss_arbytes = unfold_arbytes(c.ss_arbytes);
	c.tr_arbytes = unfold_arbytes(c.tr_arbytes);
	c.ldtr_arbytes = unfold_arbytes(c.ldtr_arbytes);
	if (!(c.flags & XEN_X86_FPU_INITIALISED))
		fpu_reset(c.fpu_regs);
	c.flags = XEN_X86_FPU_INITIALISED;
	c.rflags |= 2;		/* X86_EFLAGS_MBS */
	if (c.pending_valid) {
		v->inject.vector = c.pending_vector;
		v->inject.type = c.pending_type;
		v->inject.error_code = c.error_code;
		v->inject.insn_len = 0;
		v->inject.cr2 = 0;
	}
	c.pending_event = 0;
	c.error_code = 0;
	if (was_running[desc->instance] && record_differs(v, &c)) {
		v->c.stale_loads++;
		log_warn(LC_TARGET, "HVM%u restore: vcpu%u was running and its record is not "
			 "its state (rip %#llx, its own %#llx): it goes back in time",
			 d->domid, desc->instance, (unsigned long long)c.rip,
			 (unsigned long long)v->r.rip);
	}
	v->r = c;
	v->online = true;
	return 0;
}

int sim_hvm_load(struct sim_domain *d, const uint8_t *data, size_t size)
{
	struct hvm_save_descriptor desc;
	struct hvm_save_header hdr;
	bool was_running[SIM_MAX_VCPUS] = { false };
	size_t cur = 0;
	unsigned i;
	int rc;

	if (d->dying)
		return -EINVAL;
	/* The header must come first, with its exact length. */
	if (size < DESC_SIZE)
		return -ENODATA;
	memcpy(&desc, data, DESC_SIZE);
	if (desc.typecode != HVM_SAVE_CODE(HEADER) ||
	    desc.length != HEADER_SIZE || desc.length > size - DESC_SIZE)
		return -ENODATA;
	memcpy(&hdr, data + DESC_SIZE, HEADER_SIZE);
	cur = DESC_SIZE + HEADER_SIZE;
	if (hdr.magic != HVM_FILE_MAGIC) {
		log_warn(LC_TARGET, "HVM%u restore: bad magic number %#x",
			 d->domid, hdr.magic);
		return -EINVAL;
	}
	if (hdr.version != HVM_FILE_VERSION) {
		log_warn(LC_TARGET, "HVM%u restore: unsupported version %u",
			 d->domid, hdr.version);
		return -EINVAL;
	}
	/* Down every vCPU: only those with a CPU record come back up
	 * (whether each was running is kept for the stale-record count). */
	for (i = 0; i < d->nr_vcpus && i < SIM_MAX_VCPUS; i++) {
		was_running[i] = sim_vcpu_runnable(&d->vcpu[i]);
		d->vcpu[i].online = false;
	}
	for (;;) {
		if (size - cur < DESC_SIZE) {
			log_warn(LC_TARGET, "HVM%u restore: save did not end with a null entry",
				 d->domid);
			rc = -ENODATA;
			break;
		}
		memcpy(&desc, data + cur, DESC_SIZE);
		if (desc.typecode == HVM_SAVE_CODE(END)) {
			rc = 0;
			break;
		}
		if (desc.typecode > HVM_SAVE_CODE_MAX ||
		    desc.typecode == HVM_SAVE_CODE(HEADER)) {
			log_warn(LC_TARGET, "HVM%u restore: unknown entry typecode %u",
				 d->domid, desc.typecode);
			rc = -EINVAL;
			break;
		}
		if (desc.length > size - cur - DESC_SIZE) {
			log_warn(LC_TARGET, "HVM%u restore: record %u/%u runs past the end",
				 d->domid, desc.typecode, desc.instance);
			rc = -EINVAL;
			break;
		}
		if (desc.typecode == HVM_SAVE_CODE(CPU)) {
			if (desc.length > CPU_SIZE) {
				rc = -EINVAL;
				break;
			}
			rc = load_cpu(d, &desc, data + cur + DESC_SIZE, was_running);
			if (rc)
				break;
		} else {
			log_warn(LC_TARGET, "HVM%u restore: record type %u is not modelled by xensim; skipped",
				 d->domid, desc.typecode);
		}
		cur += DESC_SIZE + desc.length;
	}
	sim_update_timer(d->sim);
	return rc;
}

/* ---- vcpu_guest_context ---- */


void sim_get_vcpu_context(struct sim_vcpu *v, vcpu_guest_context_t *c)
{
	const struct hvm_hw_cpu *r = &v->r;

	memset(c, 0, sizeof(*c));
	memcpy(&c->fpu_ctxt, r->fpu_regs, sizeof(c->fpu_ctxt));
	if (r->flags & XEN_X86_FPU_INITIALISED)
		c->flags |= VGCF_i387_valid;
	if (v->online)
		c->flags |= VGCF_online;
	c->user_regs.rax = r->rax;
	c->user_regs.rbx = r->rbx;
	c->user_regs.rcx = r->rcx;
	c->user_regs.rdx = r->rdx;
	c->user_regs.rsi = r->rsi;
	c->user_regs.rdi = r->rdi;
	c->user_regs.rbp = r->rbp;
	c->user_regs.rsp = r->rsp;
	c->user_regs.r8 = r->r8;
	c->user_regs.r9 = r->r9;
	c->user_regs.r10 = r->r10;
	c->user_regs.r11 = r->r11;
	c->user_regs.r12 = r->r12;
	c->user_regs.r13 = r->r13;
	c->user_regs.r14 = r->r14;
	c->user_regs.r15 = r->r15;
	c->user_regs.rip = r->rip;
	c->user_regs.rflags = r->rflags;
	c->user_regs.cs = (uint16_t)r->cs_sel;
	c->user_regs.ss = (uint16_t)r->ss_sel;
	c->user_regs.ds = (uint16_t)r->ds_sel;
	c->user_regs.es = (uint16_t)r->es_sel;
	c->user_regs.fs = (uint16_t)r->fs_sel;
	c->user_regs.gs = (uint16_t)r->gs_sel;
	c->debugreg[0] = r->dr0;
	c->debugreg[1] = r->dr1;
	c->debugreg[2] = r->dr2;
	c->debugreg[3] = r->dr3;
	c->debugreg[6] = r->dr6;
	c->debugreg[7] = r->dr7;
	c->fs_base = r->fs_base;
	c->ctrlreg[0] = r->cr0;
	c->ctrlreg[2] = r->cr2;
	c->ctrlreg[4] = r->cr4;
	if (sim_is_hvm(v->d)) {
		c->ctrlreg[3] = r->cr3;
		/* ring_0(): the selector's RPL, as arch_get_info_guest. */
		if ((r->cs_sel & 3) == 0) {
			c->gs_base_kernel = r->gs_base;
			c->gs_base_user = r->shadow_gs;
		} else {
			c->gs_base_user = r->gs_base;
			c->gs_base_kernel = r->shadow_gs;
		}
	} else {
		/* xen_pfn_to_cr3() of a 64-bit PV guest is pfn << 12. */
		c->ctrlreg[3] = r->cr3 & ~0xfffull;
		/* the simulated PV vCPU runs its kernel: the GS base in use
		 * is the kernel's, and VGCF_in_kernel says so (Xen keeps
		 * gs_base_kernel/gs_base_user by role, not by use) */
		c->flags |= VGCF_in_kernel;
		c->gs_base_kernel = r->gs_base;
		c->gs_base_user = r->shadow_gs;
		c->kernel_ss = r->ss_sel;
		c->kernel_sp = r->rsp;
	}
}

static bool canonical(uint64_t a)
{
	return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

int sim_set_vcpu_context(struct sim_vcpu *v, const vcpu_guest_context_t *c)
{
	struct hvm_hw_cpu *r = &v->r;

	if (!sim_is_hvm(v->d)) {
		if (!canonical(c->user_regs.rip) ||
		    !canonical(c->user_regs.rsp) ||
		    !canonical(c->kernel_sp) || !canonical(c->fs_base) ||
		    !canonical(c->gs_base_kernel) ||
		    !canonical(c->gs_base_user) ||
		    (c->ldt_base & (SIM_PAGE_SIZE - 1)) || c->ldt_ents > 8192)
			return -EINVAL;
	}
	if (c->flags & VGCF_i387_valid)
		memcpy(r->fpu_regs, &c->fpu_ctxt, sizeof(r->fpu_regs));
	else
		fpu_reset(r->fpu_regs);
	r->flags = XEN_X86_FPU_INITIALISED;
	r->rax = c->user_regs.rax;
	r->rbx = c->user_regs.rbx;
	r->rcx = c->user_regs.rcx;
	r->rdx = c->user_regs.rdx;
	r->rsi = c->user_regs.rsi;
	r->rdi = c->user_regs.rdi;
	r->rbp = c->user_regs.rbp;
	r->rsp = c->user_regs.rsp;
	r->r8 = c->user_regs.r8;
	r->r9 = c->user_regs.r9;
	r->r10 = c->user_regs.r10;
	r->r11 = c->user_regs.r11;
	r->r12 = c->user_regs.r12;
	r->r13 = c->user_regs.r13;
	r->r14 = c->user_regs.r14;
	r->r15 = c->user_regs.r15;
	r->rip = c->user_regs.rip;
	r->rflags = c->user_regs.rflags | 2;
	r->dr0 = c->debugreg[0];
	r->dr1 = c->debugreg[1];
	r->dr2 = c->debugreg[2];
	r->dr3 = c->debugreg[3];
	r->dr6 = c->debugreg[6];
	r->dr7 = c->debugreg[7];
	if (!sim_is_hvm(v->d)) {
		/* PV: selectors, bases and the page-table root. */
		r->cs_sel = c->user_regs.cs;
		r->ss_sel = c->user_regs.ss;
		r->ds_sel = c->user_regs.ds;
		r->es_sel = c->user_regs.es;
		r->fs_sel = c->user_regs.fs;
		r->gs_sel = c->user_regs.gs;
		r->fs_base = c->fs_base;
		r->gs_base = c->gs_base_kernel;
		r->shadow_gs = c->gs_base_user;
		r->cr3 = c->ctrlreg[3] & ~0xfffull;
	}
	/* arch_set_info_guest, out: VGCF_online decides VPF_down. */
	v->online = (c->flags & VGCF_online) != 0;
	sim_update_timer(v->d->sim);
	return 0;
}
