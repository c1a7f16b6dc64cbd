/**
 * The version of what producers, readers and partition workers agree on in
 * shared memory: the layout, the record framing and the ack statuses. A
 * descriptor carries it, and attach()/reader() refuse another one: a
 * producer from another build would misread the acks (a status it does not
 * know) or write records the worker cannot frame. Bump it with any such change.
 */
// 3: the control region grew a line (Ctl.FAULTS), which moves every region after it.
// 4: Ctl.REFUSED is a 64-bit counter (a build that adds 1 to its low Int32 word would carry nothing into the high one).
export const SHARED_MEMORY_PROTOCOL = 4;
