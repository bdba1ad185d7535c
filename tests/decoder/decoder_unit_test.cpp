// Hand-written encodings with known decodings, in each mode (cpu/decoder/decoder.h).
// Lengths and fields come from the SDM Vol.2 instruction pages and Chapter 2 tables.
#include <gtest/gtest.h>

#include <initializer_list>
#include <vector>

#include "cpu/decoder/decoder.h"

namespace rv {
namespace {

constexpr CpuMode k16 = CpuMode::Real16;
constexpr CpuMode k32 = CpuMode::Prot32;
constexpr CpuMode k64 = CpuMode::Long64;

struct Result {
  DecodeStatus status;
  DecodedInsn d;
};

// Decodes exactly the given bytes (avail = their count, so a short string is Truncated).
Result dec(CpuMode mode, std::initializer_list<u8> bytes) {
  std::vector<u8> buf(bytes);
  Result r{};
  r.status = decode(buf.data(), static_cast<unsigned>(buf.size()), mode, r.d);
  return r;
}

// Decodes and expects Ok with the given length.
DecodedInsn ok(CpuMode mode, std::initializer_list<u8> bytes, unsigned len) {
  Result r = dec(mode, bytes);
  EXPECT_EQ(r.status, DecodeStatus::Ok);
  EXPECT_EQ(r.d.len, len);
  return r.d;
}

// ---- prefixes ----

TEST(DecoderPrefixes, OperandAndAddressSizeInEachMode) {
  DecodedInsn d = ok(k16, {0x01, 0xC0}, 2);   // add ax, ax
  EXPECT_EQ(d.op, OpId::ADD_Ev_Gv);
  EXPECT_EQ(d.osize, 2);
  EXPECT_EQ(d.asize, 2);
  d = ok(k16, {0x66, 0x67, 0x01, 0xC0}, 4);
  EXPECT_EQ(d.osize, 4);
  EXPECT_EQ(d.asize, 4);
  d = ok(k32, {0x66, 0x01, 0xC0}, 3);
  EXPECT_EQ(d.osize, 2);
  EXPECT_EQ(d.asize, 4);
  d = ok(k64, {0x01, 0xC0}, 2);
  EXPECT_EQ(d.osize, 4);
  EXPECT_EQ(d.asize, 8);
  d = ok(k64, {0x67, 0x66, 0x01, 0xC0}, 4);
  EXPECT_EQ(d.osize, 2);
  EXPECT_EQ(d.asize, 4);
}

TEST(DecoderPrefixes, LockRepAndSegments) {
  DecodedInsn d = ok(k32, {0xF0, 0x01, 0x03}, 3);   // lock add [ebx], eax
  EXPECT_TRUE(d.lock);
  EXPECT_EQ(d.seg, DS);
  d = ok(k32, {0xF2, 0xF3, 0xA4}, 3);   // the last of F2/F3 wins
  EXPECT_EQ(d.op, OpId::MOVSB);
  EXPECT_EQ(d.rep, 3);
  d = ok(k32, {0xF3, 0xF2, 0xA6}, 3);
  EXPECT_EQ(d.rep, 2);
  d = ok(k32, {0x26, 0x64, 0x8B, 0x00}, 4);   // the last segment override wins
  EXPECT_EQ(d.seg, FS);
  d = ok(k32, {0x2E, 0x8B, 0x45, 0x00}, 4);   // mov eax, cs:[ebp]
  EXPECT_EQ(d.seg, CS);
  d = ok(k32, {0x8B, 0x45, 0x00}, 3);          // [ebp] defaults to SS
  EXPECT_EQ(d.seg, SS);
  d = ok(k32, {0x8B, 0x04, 0x24}, 3);          // [esp] defaults to SS
  EXPECT_EQ(d.seg, SS);
}

TEST(DecoderPrefixes, NullSegmentPrefixesIn64BitMode) {
  // AMD APM Vol.3 §1.2.4: CS/DS/ES/SS overrides are ignored in 64-bit mode.
  DecodedInsn d = ok(k64, {0x64, 0x2E, 0x8B, 0x00}, 4);
  EXPECT_EQ(d.seg, FS);
  d = ok(k64, {0x3E, 0x8B, 0x45, 0x00}, 4);
  EXPECT_EQ(d.seg, SS);
  d = ok(k64, {0x41, 0x8B, 0x45, 0x00}, 4);   // [r13] is not rBP: DS
  EXPECT_EQ(d.seg, DS);
  d = ok(k64, {0x65, 0x8B, 0x04, 0x25, 0x28, 0, 0, 0}, 8);   // mov eax, gs:[0x28]
  EXPECT_EQ(d.seg, GS);
}

TEST(DecoderPrefixes, MandatoryPrefixAnywhereAmongPrefixes) {
  // SDM Vol.2A §2.1.1: groups 1-4 in any order.
  EXPECT_EQ(ok(k32, {0xF3, 0x2E, 0x0F, 0xBD, 0xC0}, 5).op, OpId::LZCNT_Gv_Ev);
  EXPECT_EQ(ok(k32, {0x0F, 0xBD, 0xC0}, 3).op, OpId::BSR_Gv_Ev);
  EXPECT_EQ(ok(k32, {0xF3, 0x90}, 2).op, OpId::PAUSE);
  EXPECT_EQ(ok(k64, {0x66, 0xF3, 0x0F, 0xB8, 0xC0}, 5).op, OpId::POPCNT_Gv_Ev);
  EXPECT_EQ(ok(k32, {0x0F, 0xB8, 0xC0}, 3).op, OpId::Invalid);   // JMPE: not ours
}

// ---- REX ----

TEST(DecoderRex, RexMustPrecedeTheOpcode) {
  // SDM Vol.2A §2.2.1: a REX followed by a legacy prefix is ignored.
  DecodedInsn d = ok(k64, {0x48, 0x66, 0x01, 0xC0}, 4);
  EXPECT_EQ(d.rex, 0);
  EXPECT_EQ(d.osize, 2);
  d = ok(k64, {0x66, 0x48, 0x01, 0xC0}, 4);   // REX.W beats 66
  EXPECT_EQ(d.rex, 0x48);
  EXPECT_EQ(d.osize, 8);
  d = ok(k64, {0x41, 0x48, 0x01, 0xC0}, 4);   // only the last REX counts
  EXPECT_EQ(d.rex, 0x48);
  EXPECT_EQ(d.rm, 0);
  d = ok(k64, {0x4D, 0x01, 0xC8}, 3);          // add r8, r9
  EXPECT_EQ(d.reg, 9);
  EXPECT_EQ(d.rm, 8);
  EXPECT_EQ(d.mod, 3);
}

TEST(DecoderRex, FortyToFourFIsIncDecOutside64BitMode) {
  DecodedInsn d = ok(k32, {0x41}, 1);
  EXPECT_EQ(d.op, OpId::INC_Zv);
  EXPECT_EQ(d.reg, 1);
  EXPECT_EQ(ok(k16, {0x4F}, 1).op, OpId::DEC_Zv);
  EXPECT_EQ(dec(k64, {0x41}).status, DecodeStatus::Truncated);   // REX needs an opcode
}

TEST(DecoderRex, RegisterInOpcodeAndXchgNop) {
  DecodedInsn d = ok(k64, {0x41, 0x50}, 2);   // push r8
  EXPECT_EQ(d.op, OpId::PUSH_Zv);
  EXPECT_EQ(d.reg, 8);
  EXPECT_EQ(ok(k64, {0x90}, 1).op, OpId::NOP);
  EXPECT_EQ(ok(k64, {0x48, 0x90}, 2).op, OpId::NOP);
  d = ok(k64, {0x41, 0x90}, 2);   // xchg r8d, eax (SDM XCHG: REX.B + 90)
  EXPECT_EQ(d.op, OpId::XCHG_Zv_rAX);
  EXPECT_EQ(d.reg, 8);
  d = ok(k64, {0x49, 0xB8, 1, 2, 3, 4, 5, 6, 7, 8}, 10);   // mov r8, imm64
  EXPECT_EQ(d.op, OpId::MOV_Zv_Iv);
  EXPECT_EQ(d.imm, 0x0807060504030201ull);
  EXPECT_EQ(d.reg, 8);
}

// ---- ModRM / SIB ----

TEST(DecoderModrm, SixteenBitForms) {
  // SDM Vol.2A Table 2-1.
  DecodedInsn d = ok(k16, {0x8B, 0x00}, 2);   // [bx+si]
  EXPECT_EQ(d.base, 3);
  EXPECT_EQ(d.index, 6);
  EXPECT_EQ(d.seg, DS);
  d = ok(k16, {0x8B, 0x43, 0xFF}, 3);          // [bp+di-1]
  EXPECT_EQ(d.base, 5);
  EXPECT_EQ(d.index, 7);
  EXPECT_EQ(d.disp, -1);
  EXPECT_EQ(d.seg, SS);
  d = ok(k16, {0x8B, 0x06, 0x34, 0x12}, 4);   // [0x1234]
  EXPECT_EQ(d.base, kNoReg);
  EXPECT_EQ(d.index, kNoReg);
  EXPECT_EQ(d.disp, 0x1234);
  d = ok(k16, {0x8B, 0x86, 0x00, 0x80}, 4);   // [bp-0x8000]
  EXPECT_EQ(d.base, 5);
  EXPECT_EQ(d.index, kNoReg);
  EXPECT_EQ(d.disp, -0x8000);
  EXPECT_EQ(d.seg, SS);
  d = ok(k16, {0x8B, 0xBF, 0x10, 0x00}, 4);   // [bx+0x10]
  EXPECT_EQ(d.base, 3);
  EXPECT_EQ(d.disp, 0x10);
  EXPECT_EQ(ok(k32, {0x67, 0x8B, 0x06, 0x34, 0x12}, 5).disp, 0x1234);   // 67 in 32-bit code
}

TEST(DecoderModrm, RipRelativeAndAbsolute) {
  DecodedInsn d = ok(k64, {0x8B, 0x05, 0x10, 0, 0, 0}, 6);   // mov eax, [rip+0x10]
  EXPECT_EQ(d.base, kRipReg);
  EXPECT_EQ(d.index, kNoReg);
  EXPECT_EQ(d.disp, 0x10);
  d = ok(k64, {0x41, 0x8B, 0x05, 0xF0, 0xFF, 0xFF, 0xFF}, 7);   // REX.B does not make it r13
  EXPECT_EQ(d.base, kRipReg);
  EXPECT_EQ(d.disp, -16);
  d = ok(k32, {0x8B, 0x05, 0x10, 0, 0, 0}, 6);   // 32-bit: [disp32]
  EXPECT_EQ(d.base, kNoReg);
  EXPECT_EQ(d.disp, 0x10);
  d = ok(k64, {0x41, 0x8B, 0x45, 0x08}, 4);   // [r13+8]
  EXPECT_EQ(d.base, 13);
  EXPECT_EQ(d.disp, 8);
}

TEST(DecoderModrm, SibForms) {
  // SDM Vol.2A Table 2-3 and its notes.
  DecodedInsn d = ok(k64, {0x8B, 0x04, 0x25, 0x00, 0x10, 0, 0}, 7);   // [disp32], no base/index
  EXPECT_EQ(d.base, kNoReg);
  EXPECT_EQ(d.index, kNoReg);
  EXPECT_EQ(d.disp, 0x1000);
  d = ok(k32, {0x8B, 0x04, 0x8D, 0x00, 0x10, 0, 0}, 7);   // [ecx*4+disp32]
  EXPECT_EQ(d.base, kNoReg);
  EXPECT_EQ(d.index, 1);
  EXPECT_EQ(d.scale, 2);
  d = ok(k64, {0x41, 0x8B, 0x04, 0x25, 0, 0, 0, 0}, 8);   // base 101 with mod 00: no base even with REX.B
  EXPECT_EQ(d.base, kNoReg);
  d = ok(k64, {0x41, 0x8B, 0x44, 0x25, 0x08}, 5);   // mod 01: base r13
  EXPECT_EQ(d.base, 13);
  EXPECT_EQ(d.index, kNoReg);
  EXPECT_EQ(d.disp, 8);
  d = ok(k64, {0x42, 0x8B, 0x04, 0x20}, 4);   // index 100 with REX.X is r12
  EXPECT_EQ(d.index, 12);
  EXPECT_EQ(d.base, 0);
  d = ok(k32, {0x8B, 0x44, 0x24, 0xFC}, 4);   // [esp-4]
  EXPECT_EQ(d.base, 4);
  EXPECT_EQ(d.index, kNoReg);
  EXPECT_EQ(d.disp, -4);
  EXPECT_EQ(d.seg, SS);
  d = ok(k32, {0x8B, 0x84, 0xC8, 0x78, 0x56, 0x34, 0x12}, 7);   // [eax+ecx*8+0x12345678]
  EXPECT_EQ(d.base, 0);
  EXPECT_EQ(d.index, 1);
  EXPECT_EQ(d.scale, 3);
  EXPECT_EQ(d.disp, 0x12345678);
}

TEST(DecoderModrm, ControlAndDebugRegisterMovesIgnoreMod) {
  // SDM MOV (control registers): "the two bits in the mod field are ignored".
  for (u8 op : {0x20, 0x21, 0x22, 0x23}) {
    DecodedInsn d = ok(k32, {0x0F, op, 0x00}, 3);
    EXPECT_EQ(d.mod, 3);
    EXPECT_FALSE(d.has_mem());
    d = ok(k64, {0x0F, op, 0x85}, 3);   // no disp32 either
    EXPECT_EQ(d.rm, 5);
    EXPECT_EQ(d.reg, 0);
  }
  EXPECT_EQ(ok(k64, {0x44, 0x0F, 0x22, 0xC0}, 4).reg, 8);   // mov cr8, rax
}

// ---- immediates ----

TEST(DecoderImm, MoffsFollowsAddressSize) {
  EXPECT_EQ(ok(k16, {0xA1, 0x34, 0x12}, 3).imm, 0x1234u);
  EXPECT_EQ(ok(k16, {0x67, 0xA1, 1, 2, 3, 4}, 6).imm, 0x04030201u);
  EXPECT_EQ(ok(k32, {0xA3, 1, 2, 3, 4}, 5).op, OpId::MOV_Ov_rAX);
  EXPECT_EQ(ok(k32, {0x67, 0xA0, 0x34, 0x12}, 4).imm, 0x1234u);
  DecodedInsn d = ok(k64, {0xA1, 1, 2, 3, 4, 5, 6, 7, 8}, 9);
  EXPECT_EQ(d.imm, 0x0807060504030201ull);
  EXPECT_EQ(ok(k64, {0x67, 0xA1, 1, 2, 3, 4}, 6).imm, 0x04030201u);
  EXPECT_EQ(ok(k64, {0x66, 0xA1, 1, 2, 3, 4, 5, 6, 7, 8}, 10).osize, 2);   // 66 does not change it
}

TEST(DecoderImm, EnterRetAndGroups) {
  DecodedInsn d = ok(k32, {0xC8, 0x10, 0x00, 0x01}, 4);   // enter 0x10, 1
  EXPECT_EQ(d.op, OpId::ENTER_Iw_Ib);
  EXPECT_EQ(d.imm, 0x10u);
  EXPECT_EQ(d.imm2, 1);
  EXPECT_EQ(ok(k64, {0x66, 0x48, 0xC2, 0x08, 0x00}, 5).imm, 8u);   // ret imm16 is always Iw
  EXPECT_EQ(ok(k32, {0xF6, 0xC0, 0x7F}, 3).op, OpId::TEST_Eb_Ib);   // F6 /0 has an Ib
  EXPECT_EQ(ok(k32, {0xF6, 0xD0}, 2).op, OpId::NOT_Eb);             // F6 /2 has none
  EXPECT_EQ(ok(k16, {0xF7, 0xC0, 0x34, 0x12}, 4).imm, 0x1234u);     // F7 /0 Iz = 16 bits
  EXPECT_EQ(ok(k64, {0x48, 0xF7, 0xC0, 0xFF, 0xFF, 0xFF, 0xFF}, 7).imm, ~u64{0});   // Iz sign-extended
  EXPECT_EQ(ok(k32, {0x83, 0xC0, 0x80}, 3).imm, static_cast<u64>(-128));           // Ib sign-extended
  EXPECT_EQ(ok(k64, {0x48, 0x69, 0xC0, 1, 0, 0, 0}, 7).op, OpId::IMUL_Gv_Ev_Iz);
  EXPECT_EQ(ok(k64, {0x66, 0x68, 0x34, 0x12}, 4).op, OpId::PUSH_Iz);   // push imm16
}

TEST(DecoderImm, FarPointers) {
  DecodedInsn d = ok(k16, {0xEA, 0x00, 0x7C, 0x00, 0xF0}, 5);   // jmp 0xF000:0x7C00
  EXPECT_EQ(d.op, OpId::JMPF_Ap);
  EXPECT_EQ(d.imm, 0x7C00u);
  EXPECT_EQ(d.imm2, 0xF000);
  d = ok(k32, {0x9A, 1, 2, 3, 4, 0x08, 0x00}, 7);   // call 0x08:0x04030201
  EXPECT_EQ(d.op, OpId::CALLF_Ap);
  EXPECT_EQ(d.imm, 0x04030201u);
  EXPECT_EQ(d.imm2, 8);
  EXPECT_EQ(ok(k32, {0x66, 0xEA, 1, 2, 8, 0}, 6).imm2, 8);   // ptr16:16
  EXPECT_EQ(dec(k64, {0xEA, 1, 2, 3, 4, 5, 6}).d.op, OpId::Invalid) << "no JMPF Ap in 64-bit mode";
  EXPECT_EQ(ok(k32, {0xFF, 0x28}, 2).op, OpId::JMPF_Mp);
  EXPECT_EQ(ok(k32, {0xFF, 0xE8}, 2).op, OpId::Invalid);   // FF /5 needs memory
}

TEST(DecoderImm, BranchDisplacementSizes) {
  DecodedInsn d = ok(k16, {0xE8, 0xFE, 0xFF}, 3);   // call rel16
  EXPECT_EQ(d.imm, static_cast<u64>(-2));
  EXPECT_EQ(ok(k16, {0x66, 0xE8, 1, 0, 0, 0}, 6).op, OpId::CALL_Jz);   // rel32 in 16-bit code
  EXPECT_EQ(ok(k32, {0xE9, 0, 1, 0, 0}, 5).imm, 0x100u);
  EXPECT_EQ(ok(k32, {0x66, 0xE9, 0, 1}, 4).imm, 0x100u);              // rel16
  EXPECT_EQ(ok(k16, {0x0F, 0x85, 0x00, 0x01}, 4).op, OpId::JCC_Jz);
  EXPECT_EQ(ok(k32, {0x0F, 0x85, 0, 1, 0, 0}, 6).opcode, 0x85);
  // 64-bit: the operand size is 64 and 66 is ignored, rel stays 32 bits (SDM Vol.1 §6.3.7).
  d = ok(k64, {0x66, 0xE8, 0, 0, 0, 0x80}, 6);
  EXPECT_EQ(d.osize, 8);
  EXPECT_EQ(d.imm, 0xFFFFFFFF80000000ull);
  EXPECT_EQ(ok(k64, {0x66, 0x0F, 0x84, 1, 0, 0, 0}, 7).osize, 8);
  EXPECT_EQ(ok(k64, {0xEB, 0x80}, 2).imm, static_cast<u64>(-128));
  EXPECT_EQ(ok(k64, {0x67, 0xE3, 0x10}, 3).asize, 4);   // jecxz
}

// ---- limits ----

TEST(DecoderLimits, FifteenBytes) {
  // 14 prefixes + NOP = 15 bytes: fine. One more prefix: #GP (SDM Vol.3A §6.15, Interrupt 13:
  // "exceeding the instruction length limit of 15 bytes").
  std::vector<u8> b(14, 0x66);
  b.push_back(0x90);
  DecodedInsn d;
  ASSERT_EQ(decode(b.data(), static_cast<unsigned>(b.size()), k32, d), DecodeStatus::Ok);
  EXPECT_EQ(d.len, 15);
  b.insert(b.begin(), 0x66);
  EXPECT_EQ(decode(b.data(), static_cast<unsigned>(b.size()), k32, d), DecodeStatus::TooLong);
  // 11 prefixes + mov eax, [disp32+sib] (7 bytes) = 18 bytes: too long even with enough bytes.
  std::vector<u8> c(11, 0x2E);
  for (u8 x : {0x8B, 0x84, 0xC8, 1, 2, 3, 4}) c.push_back(x);
  EXPECT_EQ(decode(c.data(), static_cast<unsigned>(c.size()), k32, d), DecodeStatus::TooLong);
  // REX.W mov with imm64 and 5 prefixes = 15.
  EXPECT_EQ(ok(k64, {0x66, 0x66, 0x66, 0x66, 0x66, 0x48, 0xB8, 1, 2, 3, 4, 5, 6, 7, 8}, 15).osize, 8);
}

TEST(DecoderLimits, Truncated) {
  EXPECT_EQ(dec(k32, {0xB8, 1, 2}).status, DecodeStatus::Truncated);
  EXPECT_EQ(dec(k32, {0x0F}).status, DecodeStatus::Truncated);
  EXPECT_EQ(dec(k32, {0x66, 0x66}).status, DecodeStatus::Truncated);
  EXPECT_EQ(dec(k64, {0x8B, 0x05, 0, 0}).status, DecodeStatus::Truncated);
  EXPECT_EQ(dec(k32, {0xC5}).status, DecodeStatus::Truncated);
  EXPECT_EQ(dec(k64, {0x62, 0xF1, 0x7C, 0x48}).status, DecodeStatus::Truncated);
}

// ---- VEX / EVEX / XOP / 3DNow! ----

TEST(DecoderVex, LengthsAndEscapes) {
  EXPECT_EQ(ok(k64, {0xC5, 0xF8, 0x77}, 3).op, OpId::Vex);                       // vzeroupper
  EXPECT_EQ(ok(k64, {0xC5, 0xF8, 0x28, 0xC1}, 4).op, OpId::Vex);                 // vmovaps xmm0, xmm1
  DecodedInsn d = ok(k64, {0xC4, 0xE2, 0x79, 0x18, 0x40, 0x10}, 6);               // vbroadcastss xmm0,[rax+16]
  EXPECT_EQ(d.map, 2);
  EXPECT_EQ(d.disp, 0x10);
  EXPECT_EQ(ok(k64, {0xC4, 0xE3, 0x79, 0x04, 0xC0, 0x01}, 6).map, 3);            // vpermilps ..., imm8
  EXPECT_EQ(ok(k64, {0xC5, 0xF9, 0x70, 0xC0, 0x1B}, 5).imm, 0x1Bu);              // vpshufd imm8
  d = ok(k64, {0x2E, 0xC5, 0xF8, 0x28, 0x45, 0x00}, 6);                           // vmovaps xmm0, [rbp]
  EXPECT_EQ(d.seg, SS);
  d = ok(k32, {0x64, 0xC5, 0xF8, 0x28, 0x45, 0x00}, 6);                           // vmovaps xmm0, fs:[ebp]
  EXPECT_EQ(d.seg, FS);
  // Outside 64-bit mode C4/C5 are VEX only when the next byte looks like ModRM.mod = 11b;
  // otherwise LES/LDS (SDM Vol.2A §2.3, VEX prefix).
  EXPECT_EQ(ok(k32, {0xC5, 0x00}, 2).op, OpId::LDS_Gz_Mp);
  EXPECT_EQ(ok(k16, {0xC4, 0x06, 0x34, 0x12}, 4).op, OpId::LES_Gz_Mp);
  EXPECT_EQ(ok(k32, {0xC5, 0xF8, 0x77}, 3).op, OpId::Vex);
}

TEST(DecoderVex, EvexAndXop) {
  EXPECT_EQ(ok(k64, {0x62, 0xF1, 0x7C, 0x48, 0x28, 0xC1}, 6).op, OpId::Evex);    // vmovaps zmm0, zmm1
  DecodedInsn d = ok(k64, {0x62, 0xF1, 0x7C, 0x48, 0x28, 0x40, 0x01}, 7);         // vmovaps zmm0, [rax+disp8*64]
  EXPECT_EQ(d.base, 0);
  EXPECT_EQ(ok(k64, {0x62, 0xF3, 0x7D, 0x48, 0x03, 0xC1, 0x05}, 7).map, 3);       // valignd imm8
  EXPECT_EQ(ok(k32, {0x62, 0x00, 0x00, 0x00}, 2).op, OpId::BOUND_Gv_Ma);         // bound eax, [eax]
  EXPECT_EQ(ok(k32, {0x62, 0xF1, 0x7C, 0x48, 0x28, 0xC1}, 6).op, OpId::Evex);
  // XOP (AMD APM Vol.6): 8F with ModRM.reg != 0; map 8 has an Ib, map A an Id.
  EXPECT_EQ(ok(k64, {0x8F, 0xE8, 0x78, 0xC0, 0xC1, 0x05}, 6).op, OpId::Xop);      // vprotb imm8
  EXPECT_EQ(ok(k64, {0x8F, 0xE9, 0x78, 0xC1, 0xC0}, 5).op, OpId::Xop);            // vphaddbw
  EXPECT_EQ(ok(k16, {0x8F, 0xEA, 0x78, 0x10, 0xC0, 1, 2, 3, 4}, 9).imm, 0x04030201u);   // bextr imm32
  EXPECT_EQ(ok(k32, {0x8F, 0xC0}, 2).op, OpId::POP_Ev);
}

TEST(DecoderVex, ThreeDNow) {
  // 0F 0F /r ib: the opcode is a trailing byte after ModRM/SIB/disp (AMD APM Vol.3 Appendix A).
  DecodedInsn d = ok(k32, {0x0F, 0x0F, 0xC1, 0xB4}, 4);   // pfmul mm0, mm1
  EXPECT_EQ(d.imm, 0xB4u);
  d = ok(k32, {0x0F, 0x0F, 0x44, 0x24, 0x08, 0x9E}, 6);   // pfadd mm0, [esp+8]
  EXPECT_EQ(d.imm, 0x9Eu);
  EXPECT_EQ(d.disp, 8);
  EXPECT_EQ(ok(k16, {0x0F, 0x0F, 0x06, 0x34, 0x12, 0x0D}, 6).imm, 0x0Du);   // pi2fd mm0, [0x1234]
}

// ---- meanings that depend on the mode or ModRM ----

TEST(DecoderMeaning, ModeAndModrmDependentEntries) {
  EXPECT_EQ(ok(k64, {0x48, 0x63, 0xC1}, 3).op, OpId::MOVSXD_Gv_Ed);
  EXPECT_EQ(ok(k32, {0x63, 0xC1}, 2).op, OpId::ARPL_Ew_Gw);
  EXPECT_EQ(ok(k32, {0x06}, 1).op, OpId::PUSH_ES);
  EXPECT_EQ(ok(k64, {0x06}, 1).op, OpId::Invalid);
  EXPECT_EQ(ok(k32, {0x8D, 0xC0}, 2).op, OpId::Invalid);   // LEA needs memory
  EXPECT_EQ(ok(k32, {0x0F, 0x01, 0xD0}, 3).op, OpId::XGETBV);
  EXPECT_EQ(ok(k32, {0x0F, 0x01, 0x10}, 3).op, OpId::LGDT_Ms);
  EXPECT_EQ(ok(k64, {0x0F, 0x01, 0xF8}, 3).op, OpId::SWAPGS);
  EXPECT_EQ(ok(k32, {0x0F, 0xAE, 0xE8}, 3).op, OpId::LFENCE);
  EXPECT_EQ(ok(k32, {0x0F, 0xAE, 0x38}, 3).op, OpId::CLFLUSH_M);
  EXPECT_EQ(ok(k32, {0x0F, 0xC7, 0x08}, 3).op, OpId::CMPXCHG8B_Mq);
  EXPECT_EQ(ok(k32, {0x0F, 0xC7, 0xF0}, 3).op, OpId::RDRAND_Rv);
  EXPECT_EQ(ok(k32, {0x0F, 0xB9, 0xC0}, 3).op, OpId::UD1);   // UD1 has a ModRM (SDM UD)
  EXPECT_EQ(ok(k32, {0x0F, 0xFF, 0x00}, 3).op, OpId::UD0);
  EXPECT_EQ(ok(k32, {0x0F, 0x1F, 0x44, 0x00, 0x00}, 5).op, OpId::NOP_Ev);
  DecodedInsn d = ok(k32, {0x0F, 0x9F, 0xC0}, 3);   // setg al
  EXPECT_EQ(d.op, OpId::SETCC_Eb);
  EXPECT_EQ(d.opcode & 0xF, 0xF);
  EXPECT_EQ(ok(k32, {0x66, 0x0F, 0x78, 0xC0, 0x01, 0x02}, 6).imm2, 2);   // AMD EXTRQ ib, ib
  EXPECT_EQ(ok(k32, {0x0F, 0x78, 0xC0}, 3).op, OpId::Invalid);           // VMREAD: not ours
}

}  // namespace
}  // namespace rv
