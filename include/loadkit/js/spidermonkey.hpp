#pragma once
// The SpiderMonkey 102 headers the JavaScript adapter uses, in one place.
//
// SpiderMonkey's rooting keeps the addresses of stack roots in the context,
// by design; g++ 12 reads that as a dangling pointer. Each header of js/
// with rooted code silences -Wdangling-pointer between a push and a pop.
#ifdef DEBUG
#error "loadkit/js: SpiderMonkey's release headers break with -DDEBUG; undefine it for this translation unit"
#endif
#include <jsapi.h>
#include <jsfriendapi.h>
#include <js/Array.h>
#include <js/ArrayBuffer.h>
#include <js/CompilationAndEvaluation.h>
#include <js/Context.h>
#include <js/ContextOptions.h>
#include <js/Conversions.h>
#include <js/ErrorReport.h>
#include <js/Exception.h>
#include <js/Initialization.h>
#include <js/Interrupt.h>
#include <js/JSON.h>
#include <js/Modules.h>
#include <js/Object.h>
#include <js/Promise.h>
#include <js/PropertyAndElement.h>
#include <js/Realm.h>
#include <js/SourceText.h>
#include <js/SavedFrameAPI.h>
#include <js/Stack.h>
#include <js/experimental/JSStencil.h>
#include <js/experimental/TypedData.h>
