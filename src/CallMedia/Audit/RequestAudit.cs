using CallMedia.Hosting;

namespace CallMedia.Audit;

/// <summary>The one place that builds an audit record from a request: time, user, client address (API.md §7).</summary>
public sealed class RequestAudit(AuditLog log, TimeProvider clock)
{
    public void Write(HttpContext context, string? user, string action, string outcome, string? coupleIds = null, long? bytes = null) =>
        log.Write(new AuditEntry(clock.GetUtcNow(), user, context.ClientAddress(), action, coupleIds, bytes, outcome));
}
