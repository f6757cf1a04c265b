// What Swift cannot import from FFmpeg's headers: function-like macros and
// compound-literal constants, re-exported as prefixed inline functions.
#ifndef REPRISE_CFFMPEG_SHIM_H
#define REPRISE_CFFMPEG_SHIM_H

#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavcodec/bsf.h>
#include <libavutil/avutil.h>
#include <libavutil/opt.h>
#include <libavutil/display.h>
#include <libavutil/channel_layout.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libavutil/error.h>
#include <libavutil/dict.h>
#include <libavutil/mathematics.h>
#include <libswscale/swscale.h>
#include <libswresample/swresample.h>
#include <libavfilter/avfilter.h>
#include <libavfilter/buffersink.h>
#include <libavfilter/buffersrc.h>

static inline int cff_averror(int e) { return AVERROR(e); }
static inline int cff_averror_eof(void) { return AVERROR_EOF; }
static inline int cff_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int cff_averror_invaliddata(void) { return AVERROR_INVALIDDATA; }
static inline int cff_averror_enomem(void) { return AVERROR(ENOMEM); }
static inline int64_t cff_nopts_value(void) { return AV_NOPTS_VALUE; }
static inline AVRational cff_time_base_q(void) { return AV_TIME_BASE_Q; }
static inline int cff_time_base(void) { return AV_TIME_BASE; }
static inline int cff_pkt_flag_key(void) { return AV_PKT_FLAG_KEY; }
static inline int cff_pkt_flag_corrupt(void) { return AV_PKT_FLAG_CORRUPT; }
static inline int cff_pkt_flag_discard(void) { return AV_PKT_FLAG_DISCARD; }
static inline int cff_codec_flag_global_header(void) { return AV_CODEC_FLAG_GLOBAL_HEADER; }
static inline int cff_fmt_flag_globalheader(void) { return AVFMT_GLOBALHEADER; }
static inline int cff_fmt_flag_nofile(void) { return AVFMT_NOFILE; }
static inline int cff_avio_flag_write(void) { return AVIO_FLAG_WRITE; }
static inline int cff_rounding_near_inf_passminmax(void) { return AV_ROUND_NEAR_INF | AV_ROUND_PASS_MINMAX; }
static inline int cff_rounding_down_passminmax(void) { return AV_ROUND_DOWN | AV_ROUND_PASS_MINMAX; }
static inline int cff_rounding_up_passminmax(void) { return AV_ROUND_UP | AV_ROUND_PASS_MINMAX; }
static inline int cff_frame_flag_key(const AVFrame *f) { return f->key_frame; }

/// av_err2str is a macro over a compound literal; this copies into a caller buffer.
static inline const char *cff_err2str(int errnum, char *buf, size_t size) {
    av_strerror(errnum, buf, size);
    return buf;
}

static inline int64_t cff_rescale_q_rnd(int64_t a, AVRational bq, AVRational cq, int rnd) {
    return av_rescale_q_rnd(a, bq, cq, (enum AVRounding)rnd);
}

/// Rotation in degrees from a stream's display matrix, 0 when there is none.
static inline double cff_stream_rotation(const AVStream *st) {
    const uint8_t *sd = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
    if (!sd) return 0;
    double r = av_display_rotation_get((const int32_t *)sd);  /* as ffprobe reports it */
    if (r != r) return 0;  // NaN
    return r;
}

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
/* Removes a folder and everything in it; used from signal handlers for folders in progress
   (plain libc calls, no Swift runtime). */
static inline void cff_remove_tree(const char *path) {
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        char buf[4096];
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            snprintf(buf, sizeof buf, "%s/%s", path, e->d_name);
            if (unlink(buf) != 0) cff_remove_tree(buf);
        }
        closedir(d);
    }
    rmdir(path);
}

#include <sys/prctl.h>
#include <signal.h>
/* prctl is variadic, which Swift cannot call: ask for `sig` when the parent process dies. */
static inline int cff_set_parent_death_signal(int sig) { return prctl(PR_SET_PDEATHSIG, sig); }

#endif
