-- PumpWand protocol dissector for Wireshark and tshark (Lua, Wireshark 3.6+).
--
-- Decodes the frames `pumpctl --trace FILE.pcapng` records: one frame body
-- per packet (5-byte header and payload; COBS, CRC and delimiters already
-- removed and checked), link type LINKTYPE_USER0 (147, Wireshark's
-- WTAP_ENCAP_USER0). The field layouts follow hardware/PROTOCOL.md.
--
--   tshark -X lua_script:hardware/wireshark/pumpwand.lua -r trace.pcapng -O pumpwand
--   wireshark -X lua_script:hardware/wireshark/pumpwand.lua trace.pcapng
-- or copy this file into ~/.local/lib/wireshark/plugins/.
--
-- Sealed pump messages are shown as counter, ciphertext and tag: the trace
-- never holds session keys, so their contents stay opaque here.

local pumpwand = Proto("pumpwand", "PumpWand wand protocol")

local kinds = {
    [0x01] = "wand command", [0x02] = "wand response", [0x03] = "pump message",
    [0x04] = "event", [0x05] = "negative acknowledgement",
}
local wand_opcodes = {
    [0x01] = "info", [0x02] = "link status", [0x03] = "loopback", [0x04] = "link reset",
    [0x81] = "info reply", [0x82] = "link status reply", [0x83] = "loopback reply", [0x84] = "link reset reply",
}
local nak_reasons = {
    [0x01] = "malformed frame", [0x02] = "unsupported version", [0x03] = "unknown kind",
    [0x04] = "pump not in range", [0x05] = "busy", [0x06] = "no pump reply (delivery unknown)",
    [0x07] = "unknown wand opcode",
}
local events = { [0x01] = "pump entered range", [0x02] = "pump left range", [0x03] = "wand restarted" }
local session_status = { [0x00] = "accepted", [0x01] = "unsupported version", [0x02] = "unavailable" }
local directions = { [1] = "inbound (to host)", [2] = "outbound (from host)" }

local f = {
    direction = ProtoField.uint8("pumpwand.direction", "Direction", base.DEC, directions),
    version = ProtoField.uint8("pumpwand.version", "Protocol version", base.DEC),
    kind = ProtoField.uint8("pumpwand.kind", "Kind", base.HEX, kinds),
    sequence = ProtoField.uint16("pumpwand.sequence", "Sequence", base.DEC),
    flags = ProtoField.uint8("pumpwand.flags", "Flags", base.HEX),
    flag_sealed = ProtoField.bool("pumpwand.flags.sealed", "Sealed", 8, nil, 0x01),
    flag_from_pump = ProtoField.bool("pumpwand.flags.from_pump", "From pump", 8, nil, 0x02),
    flag_wand_info = ProtoField.bool("pumpwand.flags.wand_info", "Wand info asked (session opening)", 8, nil, 0x04),
    flag_reserved = ProtoField.uint8("pumpwand.flags.reserved", "Reserved bits (must be 0)", base.HEX, nil, 0xF8),
    payload = ProtoField.bytes("pumpwand.payload", "Payload"),

    wand_opcode = ProtoField.uint8("pumpwand.wand.opcode", "Wand opcode", base.HEX, wand_opcodes),
    fw_major = ProtoField.uint8("pumpwand.wand.firmware_major", "Firmware major", base.DEC),
    fw_minor = ProtoField.uint8("pumpwand.wand.firmware_minor", "Firmware minor", base.DEC),
    fw_patch = ProtoField.uint8("pumpwand.wand.firmware_patch", "Firmware patch", base.DEC),
    serial_len = ProtoField.uint8("pumpwand.wand.serial_length", "Serial length", base.DEC),
    wand_serial = ProtoField.string("pumpwand.wand.serial", "Wand serial"),
    version_count = ProtoField.uint8("pumpwand.wand.version_count", "Protocol version count", base.DEC),
    versions = ProtoField.bytes("pumpwand.wand.protocol_versions", "Supported protocol versions"),
    in_range = ProtoField.uint8("pumpwand.link.pump_in_range", "Pump in range", base.DEC, { [0] = "no", [1] = "yes" }),
    quality = ProtoField.uint8("pumpwand.link.signal_quality", "Signal quality (%)", base.DEC),
    crc_errors = ProtoField.uint32("pumpwand.link.crc_errors", "CRC errors", base.DEC),
    retries = ProtoField.uint32("pumpwand.link.retries", "Radio retries", base.DEC),
    relayed = ProtoField.uint32("pumpwand.link.frames_relayed", "Frames relayed", base.DEC),
    loop_len = ProtoField.uint16("pumpwand.loopback.length", "Loopback length", base.DEC),
    loop_data = ProtoField.bytes("pumpwand.loopback.data", "Loopback data"),
    nak = ProtoField.uint8("pumpwand.nak.reason", "NAK reason", base.HEX, nak_reasons),
    event = ProtoField.uint8("pumpwand.event", "Event", base.HEX, events),

    pump_opcode = ProtoField.uint8("pumpwand.pump.opcode", "Pump opcode", base.HEX),
    hs_version = ProtoField.uint8("pumpwand.pump.handshake.version", "Requested protocol version", base.DEC),
    host_ephemeral = ProtoField.bytes("pumpwand.pump.handshake.host_ephemeral", "Host ephemeral X25519 key"),
    hs_status = ProtoField.uint8("pumpwand.pump.handshake.status", "Session status", base.HEX, session_status),
    pump_ephemeral = ProtoField.bytes("pumpwand.pump.handshake.pump_ephemeral", "Pump ephemeral X25519 key"),
    key_id = ProtoField.bytes("pumpwand.pump.handshake.key_id", "Blinded key id"),
    hs_payload = ProtoField.bytes("pumpwand.pump.handshake.sealed_payload", "Sealed payload (serial, session id, clock, idle timeout)"),
    counter = ProtoField.uint64("pumpwand.sealed.counter", "Counter", base.DEC),
    ct_len = ProtoField.uint16("pumpwand.sealed.ciphertext_length", "Ciphertext length", base.DEC),
    ciphertext = ProtoField.bytes("pumpwand.sealed.ciphertext", "Ciphertext"),
    tag = ProtoField.bytes("pumpwand.sealed.tag", "Poly1305 tag"),
}
pumpwand.fields = f

local ef_malformed = ProtoExpert.new("pumpwand.malformed", "Malformed PumpWand message", expert.group.MALFORMED, expert.severity.ERROR)
local ef_trailing = ProtoExpert.new("pumpwand.trailing", "Trailing bytes after the message", expert.group.MALFORMED, expert.severity.WARN)
local ef_unknown = ProtoExpert.new("pumpwand.unknown_delivery", "Delivery unknown: the pump may have acted on the request", expert.group.RESPONSE_CODE, expert.severity.WARN)
-- The wand is not authenticated: its "not transmitted" is a claim, and for a
-- sealed pump message the host treats the request as possibly delivered
-- (PROTOCOL.md section 8).
local ef_claim = ProtoExpert.new("pumpwand.wand_claim", "The wand claims it did not transmit; for a sealed pump message this is no proof of non-delivery", expert.group.RESPONSE_CODE, expert.severity.NOTE)
pumpwand.experts = { ef_malformed, ef_trailing, ef_unknown, ef_claim }

local direction_field = Field.new("frame.packet_flags_direction")

-- Adds a field of `size` bytes at `offset`; marks the message malformed and
-- returns nil when the payload is too short.
local function take(tree, field, buf, offset, size, little)
    if offset + size > buf:len() then
        tree:add_proto_expert_info(ef_malformed, "truncated: " .. size .. " bytes needed at offset " .. offset)
        return nil
    end
    local range = buf(offset, size)
    if little then tree:add_le(field, range) else tree:add(field, range) end
    return range
end

local function finish(tree, buf, offset)
    if offset < buf:len() then
        tree:add_proto_expert_info(ef_trailing, (buf:len() - offset) .. " trailing byte(s)")
    end
end

local function dissect_wand(buf, tree, info)
    if buf:len() < 1 then return info .. " (empty)" end
    local opcode = buf(0, 1):uint()
    tree:add(f.wand_opcode, buf(0, 1))
    info = info .. " " .. (wand_opcodes[opcode] or string.format("opcode 0x%02x", opcode))
    if opcode == 0x81 then
        if not take(tree, f.fw_major, buf, 1, 1) then return info end
        take(tree, f.fw_minor, buf, 2, 1); take(tree, f.fw_patch, buf, 3, 1)
        if not take(tree, f.serial_len, buf, 4, 1) then return info end
        local len = buf(4, 1):uint()
        local serial = take(tree, f.wand_serial, buf, 5, len)
        if not serial then return info end
        if not take(tree, f.version_count, buf, 5 + len, 1) then return info end
        local count = buf(5 + len, 1):uint()
        take(tree, f.versions, buf, 6 + len, count)
        finish(tree, buf, 6 + len + count)
        info = info .. " " .. serial:string() .. string.format(" firmware %d.%d.%d", buf(1, 1):uint(), buf(2, 1):uint(), buf(3, 1):uint())
    elseif opcode == 0x82 then
        take(tree, f.in_range, buf, 1, 1); take(tree, f.quality, buf, 2, 1)
        take(tree, f.crc_errors, buf, 3, 4, true); take(tree, f.retries, buf, 7, 4, true)
        take(tree, f.relayed, buf, 11, 4, true)
        finish(tree, buf, 15)
    elseif opcode == 0x03 or opcode == 0x83 then
        tree:add(f.loop_len, buf:len() - 1):set_generated()
        if buf:len() > 1 then tree:add(f.loop_data, buf(1)) end
        info = info .. " " .. (buf:len() - 1) .. " bytes"
    else
        finish(tree, buf, 1)
    end
    return info
end

local function dissect_pump(buf, tree, flags, info)
    if bit.band(flags, 0x01) ~= 0 then
        -- counter (8) | ciphertext (n) | tag (16)
        if buf:len() < 24 then
            tree:add_proto_expert_info(ef_malformed, "sealed message shorter than counter and tag")
            return info .. " sealed (truncated)"
        end
        tree:add_le(f.counter, buf(0, 8))
        local n = buf:len() - 24
        tree:add(f.ct_len, n):set_generated()
        if n > 0 then tree:add(f.ciphertext, buf(8, n)) end
        tree:add(f.tag, buf(8 + n, 16))
        return info .. string.format(" sealed counter %s, %d bytes", tostring(buf(0, 8):le_uint64()), n)
    end
    if buf:len() < 1 then return info .. " (empty)" end
    local opcode = buf(0, 1):uint()
    tree:add(f.pump_opcode, buf(0, 1))
    if bit.band(flags, 0x02) == 0 then
        if opcode ~= 0x01 then
            tree:add_proto_expert_info(ef_malformed, "only open session travels unsealed")
            return info .. " unsealed request (invalid)"
        end
        take(tree, f.hs_version, buf, 1, 1)
        take(tree, f.host_ephemeral, buf, 2, 32)
        finish(tree, buf, 34)
        return info .. " open session"
    end
    if opcode ~= 0x81 then
        tree:add_proto_expert_info(ef_malformed, "only the open session reply travels unsealed")
        return info .. " unsealed reply (invalid)"
    end
    if not take(tree, f.hs_status, buf, 1, 1) then return info end
    local status = buf(1, 1):uint()
    if status ~= 0 then
        finish(tree, buf, 2)
        return info .. " open session refused (" .. (session_status[status] or status) .. ")"
    end
    -- Version 2: the serial and session id are sealed; a capture shows
    -- only the pump's ephemeral key and a key id that changes every session.
    if not take(tree, f.pump_ephemeral, buf, 2, 32) then return info end
    if not take(tree, f.key_id, buf, 34, 16) then return info end
    if not take(tree, f.hs_payload, buf, 50, 63) then return info end
    finish(tree, buf, 113)
    return info .. " open session accepted, key id " .. tostring(buf(34, 4):bytes()) .. "..."
end

function pumpwand.dissector(buf, pinfo, root)
    pinfo.cols.protocol = "PUMPWAND"
    local tree = root:add(pumpwand, buf())
    local dir = direction_field()
    if dir then tree:add(f.direction, dir.value):set_generated() end
    if buf:len() < 5 then
        tree:add_proto_expert_info(ef_malformed, "shorter than the 5-byte header")
        pinfo.cols.info = "truncated frame"
        return
    end
    tree:add(f.version, buf(0, 1))
    local kind = buf(1, 1):uint()
    tree:add(f.kind, buf(1, 1))
    tree:add_le(f.sequence, buf(2, 2))
    local flags = buf(4, 1):uint()
    local flag_tree = tree:add(f.flags, buf(4, 1))
    flag_tree:add(f.flag_sealed, buf(4, 1))
    flag_tree:add(f.flag_from_pump, buf(4, 1))
    flag_tree:add(f.flag_wand_info, buf(4, 1))
    flag_tree:add(f.flag_reserved, buf(4, 1))
    if bit.band(flags, 0xF8) ~= 0 then flag_tree:add_proto_expert_info(ef_malformed, "reserved flag bits set") end
    -- The wand-info bit belongs on an unsealed pump message from the host only.
    if bit.band(flags, 0x04) ~= 0 and (buf(1, 1):uint() ~= 0x03 or bit.band(flags, 0x03) ~= 0) then
        flag_tree:add_proto_expert_info(ef_malformed, "wand-info flag on a frame other than an unsealed session opening")
    end
    local payload = buf:len() > 5 and buf(5):tvb() or ByteArray.new():tvb("empty payload")
    local info = string.format("seq %d %s", buf(2, 2):le_uint(), kinds[kind] or string.format("kind 0x%02x", kind))
    if kind == 0x01 or kind == 0x02 then
        info = dissect_wand(payload, tree, info)
    elseif kind == 0x03 then
        info = dissect_pump(payload, tree, flags, info)
    elseif kind == 0x04 or kind == 0x05 then
        if payload:len() ~= 1 then
            tree:add_proto_expert_info(ef_malformed, "payload must be exactly one byte")
        else
            local code = payload(0, 1):uint()
            if kind == 0x04 then
                tree:add(f.event, payload(0, 1))
                info = info .. " " .. (events[code] or string.format("0x%02x", code))
            else
                tree:add(f.nak, payload(0, 1))
                if code == 0x06 then tree:add_proto_expert_info(ef_unknown) elseif nak_reasons[code] then tree:add_proto_expert_info(ef_claim) end
                info = info .. " " .. (nak_reasons[code] or string.format("0x%02x", code))
            end
        end
    else
        if buf:len() > 5 then tree:add(f.payload, buf(5)) end
    end
    pinfo.cols.info = info
end

-- LINKTYPE_USER0 (147) is WTAP_ENCAP_USER0 inside Wireshark.
local encap = (wtap_encaps and wtap_encaps.USER0) or wtap.USER0
DissectorTable.get("wtap_encap"):add(encap, pumpwand)
