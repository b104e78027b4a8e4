/* A bzImage-shaped test guest: a boot sector with the Linux setup header
 * (boot protocol 2.15, XLF_KERNEL_64) and a protected-mode payload loaded at
 * 1 MiB whose 64-bit entry is at +0x200, where the VMM jumps with rsi
 * pointing at boot_params. */
	.section .header, "a"
	.org 0x1f1
	.byte 1			/* setup_sects */
	.word 0			/* root_flags */
	.long 0			/* syssize */
	.word 0			/* ram_size */
	.word 0xffff		/* vid_mode */
	.word 0			/* root_dev */
	.word 0xaa55		/* boot_flag */
	.byte 0xeb, 0x66	/* jump: header ends at 0x268 */
	.ascii "HdrS"
	.word 0x020f		/* protocol 2.15 */
	.long 0			/* realmode_swtch */
	.word 0			/* start_sys_seg */
	.word 0			/* kernel_version */
	.byte 0			/* type_of_loader */
	.byte 1			/* loadflags: LOADED_HIGH */
	.word 0			/* setup_move_size */
	.long 0x100000		/* code32_start */
	.long 0			/* ramdisk_image */
	.long 0			/* ramdisk_size */
	.long 0			/* bootsect_kludge */
	.word 0			/* heap_end_ptr */
	.byte 0, 0		/* ext_loader_ver, ext_loader_type */
	.long 0			/* cmd_line_ptr */
	.long 0x7fffffff	/* initrd_addr_max */
	.long 0x200000		/* kernel_alignment */
	.byte 0, 0		/* relocatable_kernel, min_alignment */
	.word 1			/* xloadflags: XLF_KERNEL_64 */
	.long 2047		/* cmdline_size */
	.long 0			/* hardware_subarch */
	.quad 0			/* hardware_subarch_data */
	.long 0, 0		/* payload_offset, payload_length */
	.quad 0			/* setup_data */
	.quad 0x100000		/* pref_address */
	.long _guest_end - 0x100000 /* init_size */
	.long 0			/* handover_offset */
	.org 0x400

	.section .text.head, "ax"
	.code32
	.globl _start32
_start32:			/* 32-bit entry: unused by vessel */
	hlt
	jmp _start32
	.org 0x200
	.code64
	.globl _start64
_start64:
	lea stack_top(%rip), %rsp
	mov %rsi, %rdi
	call guest_main
	call poweroff
1:	hlt
	jmp 1b

	.section .bss
	.p2align 12
	.globl stack_top
	.space 16384
stack_top:
