/* A PVH ELF test guest: Xen's PHYS32_ENTRY note names _start32, entered in
 * 32-bit protected mode with ebx pointing at hvm_start_info. */
	.section .note.Xen, "a", @note
	.p2align 2
	.long 4, 4, 18		/* namesz, descsz, XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long _start32

	.section .text.head, "ax"
	.code32
	.globl _start32
_start32:
	mov $stack_top, %esp
	push %ebx
	call pvh_main
	call poweroff
1:	hlt
	jmp 1b

	.section .bss
	.p2align 4
	.space 8192
stack_top:
