/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Tracepoints of iommufd shadow nesting: allocation (also a failed one),
 * every sync (range, pages mapped and unmapped, error), every stage-2 zap
 * and destruction (of every shadow an allocation event named). Enable them
 * with the "iommufd_shadow" event system in tracefs.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM iommufd_shadow

#if !defined(_TRACE_IOMMUFD_SHADOW_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_IOMMUFD_SHADOW_H

#include <linux/tracepoint.h>

TRACE_EVENT(shadow_alloc,
	    TP_PROTO(u32 id, u32 format, u64 root, u64 start, u64 last, int rc),
	    TP_ARGS(id, format, root, start, last, rc),
	    TP_STRUCT__entry(__field(u32, id)
			     __field(u32, format)
			     __field(u64, root)
			     __field(u64, start)
			     __field(u64, last)
			     __field(int, rc)
	    ),
	    TP_fast_assign(__entry->id = id;
			   __entry->format = format;
			   __entry->root = root;
			   __entry->start = start;
			   __entry->last = last;
			   __entry->rc = rc;
	    ),
	    TP_printk("hwpt=%u format=%u root=0x%llx aperture=0x%llx-0x%llx rc=%d",
		      __entry->id, __entry->format, __entry->root,
		      __entry->start, __entry->last, __entry->rc)
);

TRACE_EVENT(shadow_sync,
	    TP_PROTO(u32 id, u64 iova, u64 last, u64 mapped, u64 unmapped,
		     u64 records, int rc),
	    TP_ARGS(id, iova, last, mapped, unmapped, records, rc),
	    TP_STRUCT__entry(__field(u32, id)
			     __field(u64, iova)
			     __field(u64, last)
			     __field(u64, mapped)
			     __field(u64, unmapped)
			     __field(u64, records)
			     __field(int, rc)
	    ),
	    TP_fast_assign(__entry->id = id;
			   __entry->iova = iova;
			   __entry->last = last;
			   __entry->mapped = mapped;
			   __entry->unmapped = unmapped;
			   __entry->records = records;
			   __entry->rc = rc;
	    ),
	    TP_printk("hwpt=%u iova=0x%llx-0x%llx mapped=%llu unmapped=%llu records=%llu rc=%d",
		      __entry->id, __entry->iova, __entry->last,
		      __entry->mapped, __entry->unmapped, __entry->records,
		      __entry->rc)
);

TRACE_EVENT(shadow_zap,
	    TP_PROTO(u32 id, u64 first, u64 last, u64 unmapped),
	    TP_ARGS(id, first, last, unmapped),
	    TP_STRUCT__entry(__field(u32, id)
			     __field(u64, first)
			     __field(u64, last)
			     __field(u64, unmapped)
	    ),
	    TP_fast_assign(__entry->id = id;
			   __entry->first = first;
			   __entry->last = last;
			   __entry->unmapped = unmapped;
	    ),
	    TP_printk("hwpt=%u gpa=0x%llx-0x%llx unmapped=%llu",
		      __entry->id, __entry->first, __entry->last,
		      __entry->unmapped)
);

TRACE_EVENT(shadow_destroy,
	    TP_PROTO(u32 id),
	    TP_ARGS(id),
	    TP_STRUCT__entry(__field(u32, id)
	    ),
	    TP_fast_assign(__entry->id = id;
	    ),
	    TP_printk("hwpt=%u", __entry->id)
);

#endif

#undef TRACE_INCLUDE_PATH
/* drivers/iommu/iommufd/Makefile adds this directory to the include path */
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE shadow_trace
#include <trace/define_trace.h>
