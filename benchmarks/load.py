"""A bounded load generator: signed Twilio-style posts over keep-alive connections."""

from __future__ import annotations

import http.client
import itertools
import multiprocessing
import os
import secrets
import time
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

# Invented SMS-sized texts in several languages; no real worker's words.
TEXTS = (
    "We worked 14 hours a day this week and overtime is not paid",
    "公司两个月没发工资，每天加班到晚上11点",
    "หัวหน้าบังคับทำโอทีทุกวัน ไม่จ่ายค่าแรง",
    "Cong ty no luong 2 thang, tang ca moi ngay",
    "Gaji tak bayar lagi, agent pegang passport kami",
    "Kami dipaksa lembur tanpa bayaran di pabrik",
    "Nos obligan a trabajar horas extra sin pago",
    "Supervisor namin sinisigawan kami araw-araw, walang overtime pay",
    "mero passport company le rakhyo, talab diyena",
    "FIRE on line 3 and the exit is locked",
)


def sms_fields(number: int) -> dict[str, str]:
    """The form Twilio posts for one invented SMS, the `number`th of a run."""
    return {
        "MessageSid": "SM" + secrets.token_hex(16),
        "AccountSid": "AC" + "0" * 32,
        "From": f"+4477009{number % 100000:05d}",
        "To": "+60300000000",
        "Body": TEXTS[number % len(TEXTS)],
        "NumMedia": "0",
        "FromCountry": "GB",
    }


def _worker(
    port: int, token: str, seconds: float, connections: int, queue: multiprocessing.Queue
) -> None:
    import threading

    validator = RequestValidator(token)
    url = f"http://127.0.0.1:{port}/sms/inbound"
    deadline = time.monotonic() + seconds
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    numbers = itertools.count(int.from_bytes(os.urandom(2), "big") * 1000)

    def run() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        failed = 0
        while time.monotonic() < deadline:
            n = next(numbers)
            fields = sms_fields(n)
            body = urlencode(fields)
            headers = {
                "X-Twilio-Signature": validator.compute_signature(url, fields),
                "Content-Type": "application/x-www-form-urlencoded",
            }
            started = time.perf_counter()
            try:
                conn.request("POST", "/sms/inbound", body, headers)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    failed += 1
            except (OSError, http.client.HTTPException):
                failed += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                continue
            mine.append(time.perf_counter() - started)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors += failed

    threads = [threading.Thread(target=run) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.put((latencies, errors))


def drive(
    port: int, token: str, *, seconds: float, processes: int = 2, connections: int = 4
) -> dict[str, float]:
    """Post for `seconds` from separate processes; requests/s, p50 and p99 in milliseconds."""
    queue: multiprocessing.Queue = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=_worker, args=(port, token, seconds, connections, queue))
        for _ in range(processes)
    ]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    results = [queue.get(timeout=seconds + 120) for _ in workers]
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    latencies = sorted(latency for result in results for latency in result[0])
    errors = sum(result[1] for result in results)
    if not latencies:
        return {"requests": 0, "rps": 0.0, "p50_ms": 0.0, "p99_ms": 0.0, "errors": errors}
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "errors": errors,
    }
