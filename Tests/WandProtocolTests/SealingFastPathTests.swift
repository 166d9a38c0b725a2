@preconcurrency import Crypto
import PropertyBased
import Testing
@testable import WandProtocol

/// The session cipher builds nonce, associated data and padding in stack
/// buffers and slices its payload out of the AEAD's combined form; these
/// compare it with a construction written byte by byte from PROTOCOL.md 7.2
/// (the arrays and concatenations the cipher used to make), at every padded
/// size and its edges, so a fast path that drifts from the wire format fails here.
@Suite("Sealing fast paths")
struct SealingFastPathTests {
    static let keys = SessionKeys(hostToPump: SymmetricKey(data: (0..<32).map { UInt8($0) }),
                                  pumpToHost: SymmetricKey(data: (0..<32).map { UInt8(0xFF - $0) }), handshakeHash: [])

    /// The sealed payload by the definitions: nonce = direction || 00 00 00 ||
    /// counter LE; associated data = header || session id LE; plaintext
    /// padded by `SealPadding.pad`; payload = counter LE || ciphertext || tag.
    static func referenceSeal(_ plaintext: [UInt8], direction: SealDirection, counter: UInt64, header: FrameHeader,
                              sessionId: UInt32) throws -> [UInt8]? {
        guard let padded = SealPadding.pad(plaintext) else { return nil }
        var nonce = ByteWriter()
        nonce.uint8(direction.rawValue)
        nonce.bytes([0, 0, 0])
        nonce.uint64(counter)
        var associatedData = ByteWriter()
        associatedData.bytes(header.encoded)
        associatedData.uint32(sessionId)
        let box = try ChaChaPoly.seal(padded, using: keys.key(direction), nonce: ChaChaPoly.Nonce(data: nonce.bytes),
                                      authenticating: associatedData.bytes)
        var payload = ByteWriter()
        payload.uint64(counter)
        payload.bytes(box.ciphertext)
        payload.bytes(box.tag)
        return payload.bytes
    }

    static func header(_ sequence: UInt16, _ direction: SealDirection) -> FrameHeader {
        FrameHeader(kind: .pumpMessage, sequence: sequence, flags: direction == .hostToPump ? .sealed : [.sealed, .fromPump])
    }

    /// Plaintext lengths at each padded size's edges: empty, one below the
    /// size (the largest that fits), the size itself (the next size), and the
    /// largest size (2016: too long).
    static let edgeLengths: [Int] = [0, 1] + SealPadding.sizes.flatMap { [$0 - 2, $0 - 1, $0] }

    @Test("Seal equals the byte-by-byte construction at every padded size's edges, both directions", arguments: edgeLengths)
    func sealEdges(length: Int) throws {
        let plaintext = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
        for direction in [SealDirection.hostToPump, .pumpToHost] {
            let header = Self.header(0xBEEF, direction)
            let fast = SessionCipher.seal(plaintext, keys: Self.keys, direction: direction, counter: 0x0102_0304_0506_0708,
                                          header: header, sessionId: 0xA1B2_C3D4)
            let reference = try Self.referenceSeal(plaintext, direction: direction, counter: 0x0102_0304_0506_0708,
                                                   header: header, sessionId: 0xA1B2_C3D4)
            #expect(fast == reference)
            if length >= 2016 {
                #expect(fast == nil, "2016 bytes leave no room for the 0x80 marker")
            } else {
                let payload = try #require(reference)
                let opened = try #require(SessionCipher.open(payload, keys: Self.keys, direction: direction, header: header,
                                                             sessionId: 0xA1B2_C3D4))
                #expect(opened.counter == 0x0102_0304_0506_0708)
                #expect(opened.plaintext == plaintext)
            }
        }
    }

    @Test("Property: seal equals the construction and open inverts it, for any plaintext, counter, header and session")
    func sealEqualsReference() async {
        await propertyCheck(count: 300, input: Gen.uint8().array(of: 0...2015), Gen.uint64(), Gen.uint16(), Gen.uint32(),
                            Gen.bool()) { plaintext, counter, sequence, sessionId, toPump in
            let direction: SealDirection = toPump ? .hostToPump : .pumpToHost
            let header = Self.header(sequence, direction)
            let fast = SessionCipher.seal(plaintext, keys: Self.keys, direction: direction, counter: counter, header: header,
                                          sessionId: sessionId)
            let reference = try Self.referenceSeal(plaintext, direction: direction, counter: counter, header: header,
                                                   sessionId: sessionId)
            #expect(fast == reference)
            let payload = try #require(reference)
            #expect(SessionCipher.counter(of: payload) == counter)
            let opened = SessionCipher.open(payload, keys: Self.keys, direction: direction, header: header, sessionId: sessionId)
            #expect(opened?.counter == counter)
            #expect(opened?.plaintext == plaintext)
        }
    }

    @Test("Property: one flipped bit anywhere in the payload, or another header, session or direction, and open refuses")
    func openRefusesAnyChange() async {
        await propertyCheck(count: 200, input: Gen.uint8().array(of: 0...300), Gen.uint64(), Gen.int(in: 0...100_000),
                            Gen.uint8(in: 0...7)) { plaintext, counter, position, bit in
            let header = Self.header(9, .hostToPump)
            let payload = try #require(try Self.referenceSeal(plaintext, direction: .hostToPump, counter: counter, header: header,
                                                              sessionId: 77))
            var flipped = payload
            flipped[position % payload.count] ^= 1 << bit
            #expect(SessionCipher.open(flipped, keys: Self.keys, direction: .hostToPump, header: header, sessionId: 77) == nil)
            #expect(SessionCipher.open(payload, keys: Self.keys, direction: .hostToPump, header: Self.header(10, .hostToPump),
                                       sessionId: 77) == nil)
            #expect(SessionCipher.open(payload, keys: Self.keys, direction: .hostToPump, header: header, sessionId: 78) == nil)
            #expect(SessionCipher.open(payload, keys: Self.keys, direction: .pumpToHost, header: header, sessionId: 77) == nil)
        }
    }

    @Test("A payload whose ciphertext length is no padded size is refused, at every length up to the largest size")
    func openRefusesOtherLengths() throws {
        let header = Self.header(3, .pumpToHost)
        let payload = try #require(try Self.referenceSeal([1, 2, 3], direction: .pumpToHost, counter: 5, header: header,
                                                          sessionId: 1))
        for length in 0...(2016 + SessionCipher.overhead + 1) where !SealPadding.sizes.contains(length - SessionCipher.overhead) {
            let bytes = Array((payload + [UInt8](repeating: 0, count: max(0, length - payload.count))).prefix(length))
            #expect(SessionCipher.open(bytes, keys: Self.keys, direction: .pumpToHost, header: header, sessionId: 1) == nil,
                    "length \(length)")
        }
        #expect(SessionCipher.counter(of: Array(payload.prefix(SessionCipher.overhead - 1))) == nil)
    }

    @Test("Buffer padding equals SealPadding.pad at every plaintext length 0...2016")
    func padEveryLength() {
        for length in 0...2016 {
            let plaintext = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 3) }
            let plain = SealPadding.pad(plaintext)
            guard let size = SealPadding.paddedSize(plaintextCount: length) else {
                #expect(plain == nil, "length \(length)")
                continue
            }
            let fast = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                SealPadding.pad(plaintext, into: buffer)
                count = size
            }
            #expect(fast == plain, "length \(length)")
        }
    }

    @Test("Property: buffer unpadding equals SealPadding.unpad on arbitrary bytes and on padded tails")
    func unpadEqualsPlain() async {
        await propertyCheck(count: 300, input: Gen.uint8().array(of: 0...300), Gen.int(in: 0...6), Gen.uint8()) { raw, shape, last in
            // Shapes that reach each branch: raw bytes, a padded size whose
            // tail is zeros after a chosen byte (0x80 or not), or all zeros.
            var bytes = raw
            if shape > 0, let size = SealPadding.sizes.first(where: { $0 >= raw.count }) {
                bytes = raw + [UInt8](repeating: 0, count: size - raw.count)
                if shape % 2 == 0, !bytes.isEmpty { bytes[min(raw.count, bytes.count - 1)] = shape == 2 ? 0x80 : last }
                if shape == 5 { bytes = [UInt8](repeating: 0, count: size) }
            }
            let fast = bytes.withUnsafeBytes { SealPadding.unpad($0) }
            #expect(fast == SealPadding.unpad(bytes))
        }
    }
}
