#!/usr/bin/env bash
# Regenerates the Hotline demo prompts in this folder: 8 kHz, mono, 16-bit PCM WAV.
#
# Speech comes from espeak-ng (voice en-us); hold music is a sox synth tone sequence.
# Each speech file is trimmed of leading/trailing silence and normalized to -3 dBFS peak;
# hold music is normalized to -12 dBFS peak so that it is about as loud as the speech.
# The output is deterministic (no dither), so re-running it gives byte-identical files
# on the same espeak-ng/sox versions.
#
# Usage: ivr-flows/prompts/generate.sh   (needs espeak-ng and sox on PATH)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
voice="en-us"
speed=150 # words per minute; a little slower than espeak-ng's 175 for the phone line
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

for tool in espeak-ng sox; do
    command -v "$tool" >/dev/null 2>&1 || {
        echo "generate.sh: '$tool' is required (apt-get install espeak-ng sox)" >&2
        exit 1
    }
done

# Output format shared by every prompt. -D: no dither, so the files are reproducible.
out_fmt=(-D -r 8000 -c 1 -b 16 -e signed-integer)
# Trim silence below 0.5 % of full scale at both ends (normalizing comes last, after the rate change).
trim=(silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse)

say() { # say NAME TEXT
    local name="$1" text="$2"
    espeak-ng -v "$voice" -s "$speed" -w "$work/$name.raw.wav" -- "$text"
    # High-pass at 200 Hz (nothing below the telephone band), trim, then the 8 kHz rate
    # change (sox's `rate -v` is a linear-phase resampler with its own anti-alias filter).
    sox "$work/$name.raw.wav" "${out_fmt[@]}" "$here/$name.wav" \
        highpass 200 "${trim[@]}" rate -v 8000 norm -3
    echo "wrote $name.wav"
}

say welcome "Welcome to the Hotline demo."
say enter-digits "Please enter your account number, followed by the pound key."
say you-entered "Thank you."
say goodbye "Goodbye."
say invalid "Sorry, that is not a valid choice."
say no-input "We did not receive any input."
say main-menu "For sales, press 1. For support, press 2. To repeat this menu, press 9."
say after-hours "We are closed now. Please call again during business hours."
say enter-customer-number "Please enter your customer number, followed by the pound key."
say verified "Thank you, you are verified."
say not-verified "Sorry, we could not verify your customer number. We will connect you anyway."
say please-hold "Please hold. We are connecting you to the next available agent."
say agents-busy "All our agents are busy. Please call again later."
say rate-service "Please rate our service from 1 to 5, where 5 is the best."
say thanks-feedback "Thank you for your feedback."

# Queue announcements: "You are number three in line. The expected wait is about two minutes."
say queue-position "You are number"
say queue-in-line "in line."
say queue-many "Many callers are waiting ahead of you."
say queue-wait "The expected wait is about"
say queue-wait-long "The expected wait is more than twenty minutes."
say minute "minute."
say minutes "minutes."
# Callbacks: the caller who pressed the queue's callback key, and the agent while the customer's phone rings.
say callback-confirmed "Thank you. We will call you back at this number when an agent is free. Goodbye."
say callback-dialing "Calling the customer back."

numbers=(zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen
    sixteen seventeen eighteen nineteen twenty)
for n in $(seq 1 20); do
    say "number-$n" "${numbers[$n]}"
done

digits=(zero one two three four five six seven eight nine)
for d in "${!digits[@]}"; do
    say "digit-$d" "${digits[$d]}"
done

# Music on hold: the tracks of ../moh/, played in name order as one shared stream. Each is 10 s,
# a slow arpeggio (0.625 s per note, 16 notes); each note is a sine with a quieter octave partial
# and a soft attack/decay envelope.
moh="$here/../moh"
mkdir -p "$moh"
music() { # music NAME NOTE...
    local name="$1"
    shift
    local parts=() i=0 n f
    for n in "$@"; do
        f="$work/$name-note-$i.wav"
        sox -D -n -r 8000 -c 1 -b 16 "$f" synth 0.625 sine "$n" sine "%12" \
            remix 1v0.8,2v0.2 fade q 0.03 0.625 0.25
        parts+=("$f")
        i=$((i + 1))
    done
    # A pure tone has a crest factor of about 3 dB, so at -3 dBFS peak it would be some 10 dB
    # louder (RMS) than the speech prompts; -12 dBFS peak puts it at speech loudness.
    sox -D "${parts[@]}" "${out_fmt[@]}" "$moh/$name.wav" norm -12 trim 0 10
    echo "wrote ../moh/$name.wav"
}
# C - A minor - F - G, then F - D minor - B flat - C.
music 1-arpeggio C4 E4 G4 E4 A3 C4 E4 C4 F3 A3 C4 A3 G3 B3 D4 B3
music 2-arpeggio F3 A3 C4 A3 D3 F3 A3 F3 A#2 D3 F3 D3 C3 E3 G3 E3
