using System.Diagnostics;
using System.Text.Json;
using CallMedia.Calls;
using CallMedia.IntegrationTests.Infrastructure;
using CallMedia.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace CallMedia.IntegrationTests;

/// <summary>
/// The web app end to end in headless Chromium against the real server (with <c>Web:RequireReason=true</c>):
/// what a supervisor, a scoped listener and an auditor do every day.
/// </summary>
public sealed class WebAppTests(WebBrowser web) : IClassFixture<WebBrowser>
{
    private const string Reason = "QA review of ticket 4711";

    private TestServer Server => web.Server;

    [Fact]
    public async Task Supervisor_FindPlaySeekSpeedDownloadAndZip_EndToEnd()
    {
        var problems = new List<string>();
        await using var context = await web.NewContextAsync();
        var page = await WebBrowser.NewPageAsync(context, problems);
        var call = await LongestAudioCallAsync();

        // A bookmark to the calls page leads to sign-in and back.
        await OpenSignedInAsync(page, "/");

        // Find: by the caller's number.
        await page.GetByLabel("Number", new() { Exact = true }).FillAsync(call.CallingNumber);
        await page.GetByRole(AriaRole.Button, new() { Name = "Search", Exact = true }).ClickAsync();
        var row = page.Locator($"tbody tr[data-id='{call.Id}']");
        await row.WaitForAsync();
        // The first page may still be on screen for a moment: wait until the search's rows replaced it.
        var rows = page.Locator("tbody tr");
        var texts = await rows.AllInnerTextsAsync();
        for (var wait = Stopwatch.StartNew(); texts.Any(t => !t.Contains(call.CallingNumber, StringComparison.Ordinal)) && wait.Elapsed < TimeSpan.FromSeconds(10);)
        {
            await Task.Delay(100);
            texts = await rows.AllInnerTextsAsync();
        }

        Assert.NotEmpty(texts);
        Assert.All(texts, text => Assert.Contains(call.CallingNumber, text, StringComparison.Ordinal));

        // Listen: the reason first (Web:RequireReason), then it plays.
        await row.Locator("a[data-call]").ClickAsync();
        await page.WaitForURLAsync(u => new Uri(u).AbsolutePath == $"/calls/{call.Id}");
        await page.Locator("#play").ClickAsync();
        await page.GetByLabel("Reason", new() { Exact = true }).FillAsync(Reason);
        await page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        await page.WaitForFunctionAsync("() => { const m = document.getElementById('media'); return m && m.currentTime > 0.2; }");
        var duration = await page.EvaluateAsync<double>("() => document.getElementById('media').duration");
        Assert.InRange(duration, 12, 60);

        // Seek with the keyboard: Home on the waveform, then → is 10 s further.
        await page.Locator(".wave").FocusAsync();
        await page.Keyboard.PressAsync("Home");
        await page.Keyboard.PressAsync("ArrowRight");
        await page.WaitForFunctionAsync("() => { const m = document.getElementById('media'); return !m.seeking && m.currentTime >= 9.8; }");
        Assert.InRange(await CurrentTimeAsync(page), 9.8, 11.5);
        await page.Keyboard.PressAsync("ArrowLeft");
        await page.WaitForFunctionAsync("() => { const m = document.getElementById('media'); return !m.seeking && m.currentTime < 2; }");

        // Seek by clicking the waveform at three quarters.
        var box = (await page.Locator(".wave").BoundingBoxAsync())!;
        await page.Mouse.ClickAsync(box.X + (box.Width * 0.75f), box.Y + (box.Height / 2));
        await page.WaitForFunctionAsync("() => { const m = document.getElementById('media'); return !m.seeking && m.currentTime > m.duration * 0.7; }");
        Assert.InRange(await CurrentTimeAsync(page), (duration * 0.75) - 1, (duration * 0.75) + 1.5);

        // Speed 1.5× from the keyboard ("5"), shown in the speed control.
        await page.Keyboard.PressAsync("5");
        Assert.Equal(1.5, await page.EvaluateAsync<double>("() => document.getElementById('media').playbackRate"));
        Assert.Equal("1.5", await page.Locator("#speed").InputValueAsync());
        await page.Locator("#play").ClickAsync();
        await page.WaitForFunctionAsync("() => document.getElementById('media').paused");

        // Download one call: the bytes are the stored file's.
        var stored = await StoredFileAsync(call.Id);
        var single = await page.RunAndWaitForDownloadAsync(() => page.GetByRole(AriaRole.Button, new() { Name = "Download audio" }).ClickAsync());
        var singlePath = Path.Combine(Server.DataDir, "download-" + single.SuggestedFilename);
        await single.SaveAsAsync(singlePath);
        Assert.Equal(await File.ReadAllBytesAsync(stored), await File.ReadAllBytesAsync(singlePath));

        // Select three calls and download them as one zip, which unzip accepts.
        await page.GetByRole(AriaRole.Button, new() { Name = "Any date" }).ClickAsync();
        await page.GetByLabel("Number", new() { Exact = true }).FillAsync("");
        await page.GetByRole(AriaRole.Button, new() { Name = "Search", Exact = true }).ClickAsync();
        await page.WaitForFunctionAsync("() => document.querySelectorAll('tbody tr').length >= 3");
        var boxes = page.Locator("tbody input[type=checkbox]");
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            await boxes.Nth(i).CheckAsync();
            ids.Add((await boxes.Nth(i).GetAttributeAsync("data-id"))!);
        }

        Assert.Equal("3 selected", await page.Locator("#selected-count").InnerTextAsync());
        var zipDownload = page.RunAndWaitForDownloadAsync(() => page.Locator("#download-zip").ClickAsync());
        // The calls not listened to yet need their reason; the dialog asks once for all of them.
        await page.GetByLabel("Reason", new() { Exact = true }).FillAsync(Reason);
        await page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        var zip = await zipDownload;
        var zipPath = Path.Combine(Server.DataDir, "selected.zip");
        await zip.SaveAsAsync(zipPath);
        var listing = await Tool.RequireAsync("unzip", "-t", zipPath);
        Assert.Contains("No errors detected", listing, StringComparison.Ordinal);
        Assert.All(ids, id => Assert.Contains(id + "_", listing, StringComparison.Ordinal));

        Assert.Empty(problems);
    }

    [Fact]
    public async Task Play_ClickedWhileTheCallStillLoads_IsNotLost()
    {
        var problems = new List<string>();
        await using var context = await web.NewContextAsync();
        var page = await WebBrowser.NewPageAsync(context, problems);
        var call = await LongestAudioCallAsync();

        // The call's details come slowly (a busy server): Play is there at once, and can't be pressed into nothing.
        await page.RouteAsync(url => new Uri(url).AbsolutePath == $"/api/v1/calls/{call.Id}", async route =>
        {
            await Task.Delay(1500);
            await route.ContinueAsync();
        });
        await OpenSignedInAsync(page, $"/calls/{call.Id}");
        var play = page.Locator("#play");
        await play.WaitForAsync();
        Assert.True(await play.IsDisabledAsync());
        await play.ClickAsync();
        await page.GetByLabel("Reason", new() { Exact = true }).FillAsync(Reason);
        await page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        await page.WaitForFunctionAsync("() => { const m = document.getElementById('media'); return m && m.currentTime > 0.2; }");
        Assert.Empty(problems);
    }

    [Fact]
    public async Task Supervisor_PrepareUnmixedVideo_ShowsProgressThenPlays()
    {
        var problems = new List<string>();
        await using var context = await web.NewContextAsync();
        var page = await WebBrowser.NewPageAsync(context, problems);
        await OpenSignedInAsync(page, "/calls/1026");

        await page.Locator("#prepare").ClickAsync();
        await page.Locator("#prepare-progress").WaitForAsync();
        await page.GetByText("Video ready.").WaitForAsync(new() { Timeout = 120_000 });
        await page.Locator("video#media").WaitForAsync();
        await page.Locator("#play").ClickAsync();
        await page.GetByLabel("Reason", new() { Exact = true }).FillAsync(Reason);
        await page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        await page.WaitForFunctionAsync("() => { const m = document.getElementById('media'); return m.currentTime > 0.3 && m.videoWidth > 0; }");
        Assert.Equal(640, await page.EvaluateAsync<int>("() => document.getElementById('media').videoWidth"));
        Assert.Empty(problems);
    }

    [Fact]
    public async Task ScopedListener_SeesOnlyCallsOfTheirNumber_AndNoDownloadButtons()
    {
        var calls = await AllCallsAsync();
        var number = calls.SelectMany(c => new[] { c.CallingNumber, c.CalledNumber }).GroupBy(n => n).OrderByDescending(g => g.Count()).First().Key;
        var mine = calls.Where(c => c.CallingNumber == number || c.CalledNumber == number).Select(c => c.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToHashSet();
        var other = calls.First(c => c.CallingNumber != number && c.CalledNumber != number);
        await Server.AddUserAsync("web-listener", "Listener-Pass-1", ["listener"], [number]);

        var problems = new List<string>();
        await using var context = await web.NewContextAsync();
        var page = await WebBrowser.NewPageAsync(context, problems);
        await page.GotoAsync("/sign-in");
        await WebBrowser.SignInAsync(page, "web-listener", "Listener-Pass-1");
        await page.Locator(".results .status").GetByText("shown").WaitForAsync();
        var shown = await page.Locator("tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.id)");
        Assert.Equal(mine.Order(), shown.Order());
        Assert.Equal(0, await page.Locator("tbody input[type=checkbox]").CountAsync());

        await page.GotoAsync($"/calls/{other.Id}");
        await page.GetByText("does not exist or is not yours").WaitForAsync();
        await page.GotoAsync($"/calls/{shown[0]}");
        await page.Locator("#play").WaitForAsync();
        Assert.Equal(0, await page.GetByRole(AriaRole.Button, new() { Name = "Download audio" }).CountAsync());
        Assert.Equal(0, await page.Locator("#nav-audit:visible").CountAsync());
        Assert.Empty(problems);
    }

    [Fact]
    public async Task UserWithoutRights_SeesNoCallAndIsToldWhy()
    {
        var any = (await AllCallsAsync())[0];
        await Server.AddUserAsync("web-norights", "NoRights-Pass-1", []);

        var problems = new List<string>();
        await using var context = await web.NewContextAsync();
        var page = await WebBrowser.NewPageAsync(context, problems);
        await page.GotoAsync("/sign-in");
        await WebBrowser.SignInAsync(page, "web-norights", "NoRights-Pass-1");
        await page.Locator(".results .status").GetByText("ask an administrator for a role").WaitForAsync();
        Assert.Equal(0, await page.Locator("tbody tr").CountAsync());
        await page.GotoAsync($"/calls/{any.Id}");
        await page.GetByText("does not exist or is not yours").WaitForAsync();
        Assert.Empty(problems);
    }

    [Fact]
    public async Task Auditor_SeesWhoAccessedACall_AndIsNotOfferedTheAdministratorsAuditLog()
    {
        await Server.AddUserAsync("web-auditor", "Auditor-Pass-1", ["auditor"]);
        var problems = new List<string>();
        await using var context = await web.NewContextAsync();
        var page = await WebBrowser.NewPageAsync(context, problems);
        await page.GotoAsync("/sign-in");
        await WebBrowser.SignInAsync(page, "web-auditor", "Auditor-Pass-1");
        await page.Locator(".results .status").GetByText("shown").WaitForAsync();
        // The whole log (logins, administration, every call) is the administrators'; no link leads to a page that fails.
        Assert.Equal(0, await page.Locator("#nav-audit:visible").CountAsync());

        await page.GotoAsync("/calls/1003");
        await page.GetByRole(AriaRole.Heading, new() { Name = "Who listened or downloaded" }).WaitForAsync();

        await page.GotoAsync("/audit");
        await page.GetByText("The audit log is for administrators").WaitForAsync();
        Assert.Equal(0, await page.Locator("#audit-csv").CountAsync());
        Assert.Empty(problems);
    }

    [Fact]
    public async Task SignIn_ReturnWithDotSegmentsThatFoldToAnotherSite_StaysOnThisSite()
    {
        var problems = new List<string>();
        await using var context = await web.NewContextAsync();
        var page = await WebBrowser.NewPageAsync(context, problems);
        var away = new List<string>();
        await page.RouteAsync(url => new Uri(url).Host == "evil.example", async route =>
        {
            away.Add(route.Request.Url);
            await route.AbortAsync();
        });

        // '/.//host' and '/%2e%2e//host' are paths until the browser folds their dot segments: then '//host', another site.
        await page.GotoAsync("/sign-in?return=" + Uri.EscapeDataString("/.//evil.example/steal"));
        await WebBrowser.SignInAsync(page, "demo", TestServer.DemoPassword);
        await page.Locator(".results .status").GetByText("shown").WaitForAsync();
        Assert.Equal((Server.BaseAddress.Authority, "/"), (new Uri(page.Url).Authority, new Uri(page.Url).AbsolutePath));

        // Signed in already, the sign-in page goes on at once: the same check.
        foreach (var back in (string[])["/..//evil.example/auto", "/%2e%2e//evil.example/auto", "/%2E//evil.example/auto"])
        {
            await page.GotoAsync("/sign-in?return=" + Uri.EscapeDataString(back));
            await page.WaitForURLAsync(u => new Uri(u).AbsolutePath == "/");
            Assert.Equal(Server.BaseAddress.Authority, new Uri(page.Url).Authority);
        }

        // Through the server's own sign-in redirect too.
        using var client = Server.CreateClient();
        using var answer = await client.GetAsync("/callrec/?return=" + Uri.EscapeDataString("/.//evil.example/x"));
        Assert.Equal("/sign-in", answer.Headers.Location?.OriginalString);
        Assert.Empty(away);
        Assert.Empty(problems);
    }

    [Fact]
    public async Task ApiReference_RendersUnderAStrictPolicy_AndAnInjectedInlineScriptIsRefused()
    {
        var problems = new List<string>();
        await using var context = await web.NewContextAsync();
        var page = await WebBrowser.NewPageAsync(context, problems);
        // Every address of the page (the default document's too) gets the policy, with a nonce of its own each time.
        var nonces = new List<string>();
        foreach (var path in (string[])["/api/docs/v1", "/api/DOCS/", "/api/docs/"])
        {
            var answer = await page.GotoAsync(path);
            var policy = answer!.Headers["content-security-policy"];
            var nonce = System.Text.RegularExpressions.Regex.Match(policy, "^default-src 'none'; script-src 'self' 'nonce-([A-Za-z0-9+/=_-]{16,})';");
            Assert.True(nonce.Success, policy);
            Assert.DoesNotContain("unsafe-eval", policy, StringComparison.Ordinal);
            Assert.Contains("frame-ancestors 'none'", policy, StringComparison.Ordinal);
            Assert.Contains($"nonce=\"{nonce.Groups[1].Value}\"", await answer.TextAsync(), StringComparison.Ordinal);
            nonces.Add(nonce.Groups[1].Value);
        }

        Assert.Equal(3, nonces.Distinct().Count());

        // The reference drew itself from this server's OpenAPI document: its scripts, start-up included, ran.
        await page.GetByText("The signed-in user: rights, scope, when the session ends.").First.WaitForAsync();

        // Any other inline script is refused by the same policy.
        var ran = await page.EvaluateAsync<bool>(
            """
            () => new Promise(resolve => {
              window.injected = false;
              document.addEventListener('securitypolicyviolation', () => resolve(window.injected), { once: true });
              const s = document.createElement('script');
              s.textContent = 'window.injected = true';
              document.body.append(s);
              setTimeout(() => resolve(window.injected), 2000);
            })
            """);
        Assert.False(ran);
        Assert.DoesNotContain(problems, p => !p.Contains("Content Security Policy", StringComparison.Ordinal));
        Assert.Single(problems);
    }

    [Fact]
    public async Task Calls_FiltersThatCannotMatch_SaySoAndLeaveNoRowsOfTheLastSearch()
    {
        var problems = new List<string>();
        await using var context = await web.NewContextAsync();
        var page = await WebBrowser.NewPageAsync(context, problems);
        await OpenSignedInAsync(page, "/");
        await page.Locator(".results .status").GetByText("shown").WaitForAsync();
        Assert.True(await page.Locator("tbody tr").CountAsync() > 0);

        await page.GetByLabel("From").FillAsync("2026-11-25");
        await page.GetByLabel("To", new() { Exact = true }).FillAsync("2026-11-20");
        await page.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
        await page.Locator("#filter-error").GetByText("The From date is after the To date.").WaitForAsync();
        Assert.Equal(0, await page.Locator("tbody tr").CountAsync());

        await page.GetByLabel("From").FillAsync("");
        await page.GetByLabel("To", new() { Exact = true }).FillAsync("");
        await page.GetByLabel("Min. duration (s)").FillAsync("30");
        await page.GetByLabel("Max. duration (s)").FillAsync("10");
        await page.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
        await page.Locator("#filter-error").GetByText("The minimum duration is longer than the maximum duration.").WaitForAsync();
        Assert.Equal(0, await page.Locator("tbody tr").CountAsync());

        await page.GetByLabel("Min. duration (s)").FillAsync("");
        await page.GetByLabel("Max. duration (s)").FillAsync("");
        await page.GetByRole(AriaRole.Button, new() { Name = "Search" }).ClickAsync();
        await page.Locator(".results .status").GetByText("shown").WaitForAsync();
        Assert.Equal("", await page.Locator("#filter-error").TextContentAsync());
        Assert.Empty(problems);
    }

    [Fact]
    public async Task Call_WithNoRecordingLeft_SaysSoRatherThanBlamingRights()
    {
        // What a call looks like once retention has deleted its recordings: the call row stays, no file.
        var id = (await Server.SeedAsync([[]]))[0];
        var problems = new List<string>();
        await using var context = await web.NewContextAsync();
        var page = await WebBrowser.NewPageAsync(context, problems);
        await OpenSignedInAsync(page, $"/calls/{id}");
        await page.GetByText("No recording of this call is stored any more").WaitForAsync();
        Assert.Equal(0, await page.GetByText("Your rights do not allow").CountAsync());
        Assert.Empty(problems);
    }

    [Fact]
    public async Task SignIn_TypingWhileThePageStillChecksForASession_KeepsFocusAndWhatWasTyped()
    {
        var problems = new List<string>();
        await using var context = await web.NewContextAsync();
        var page = await WebBrowser.NewPageAsync(context, problems);

        // The page asks whether the browser is signed in already; on a busy server the answer comes while the person
        // is typing. It must not take the cursor away: keys pressed after it would land in the wrong field.
        await page.RouteAsync(url => new Uri(url).AbsolutePath == "/api/v1/me", async route =>
        {
            await Task.Delay(800);
            await route.ContinueAsync();
        });
        await page.GotoAsync("/sign-in");
        await page.GetByLabel("Name").PressSequentiallyAsync("demo", new() { Delay = 120 });
        await page.GetByLabel("Password").PressSequentiallyAsync(TestServer.DemoPassword, new() { Delay = 120 });
        Assert.Equal("demo", await page.GetByLabel("Name").InputValueAsync());
        Assert.Equal(TestServer.DemoPassword, await page.GetByLabel("Password").InputValueAsync());
        await page.Keyboard.PressAsync("Enter");
        await page.WaitForURLAsync(u => new Uri(u).AbsolutePath == "/");
        Assert.Empty(problems);
    }

    /// <summary>A page of <paramref name="context"/> signed in as demo, at the call log.</summary>
    private static async Task<IPage> SignedInHomeAsync(IBrowserContext context, List<string> problems)
    {
        var page = await WebBrowser.NewPageAsync(context, problems);
        await page.GotoAsync("/sign-in");
        await WebBrowser.SignInAsync(page, "demo", TestServer.DemoPassword);
        await page.WaitForURLAsync(u => new Uri(u).AbsolutePath == "/");
        return page;
    }

    [Fact]
    public async Task SignOut_WhileARequestIsAnswered401_OneNavigationToSignIn()
    {
        // Seen once in CI: a request of the page answered 401 while signing out sent the browser to sign in too; two
        // navigations raced and the first was cut off (ERR_ABORTED). Here that 401 arrives while the sign-out's DELETE
        // is still on its way, and the sign-in page's own load is held long enough for a second navigation to start.
        var problems = new List<string>();
        await using var context = await web.NewContextAsync();
        var page = await SignedInHomeAsync(context, problems);

        var deleting = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var navigations = 0;
        await page.RouteAsync(url => new Uri(url).AbsolutePath == "/api/v1/me", async route =>
        {
            await deleting.Task;
            await route.FulfillAsync(new() { Status = 401, ContentType = "application/problem+json", Body = """{"title":"Sign in first.","status":401}""" });
        });
        await page.RouteAsync(url => new Uri(url).AbsolutePath == "/api/v1/session", async route =>
        {
            deleting.TrySetResult();
            await Task.Delay(300);
            await route.ContinueAsync();
        });
        await page.RouteAsync(url => new Uri(url).AbsolutePath == "/sign-in", async route =>
        {
            Interlocked.Increment(ref navigations);
            await Task.Delay(1000);
            await route.ContinueAsync();
        });

        await page.EvaluateAsync("() => { import('/assets/api.js').then(m => m.api('/api/v1/me')).catch(() => {}); }");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await page.WaitForURLAsync(u => new Uri(u).AbsolutePath == "/sign-in");
        await page.GetByLabel("Name").WaitForAsync();

        Assert.Equal(1, navigations);
        Assert.Equal("/sign-in", new Uri(page.Url).PathAndQuery);
    }

    [Fact]
    public async Task SignIn_WrongPasswordThrottledAndForeignReturn_ClearMessagesAndNoOpenRedirect()
    {
        var problems = new List<string>();
        await using var context = await web.NewContextAsync();
        var page = await WebBrowser.NewPageAsync(context, problems);

        await page.GotoAsync("/sign-in?return=" + Uri.EscapeDataString("//evil.example/steal"));
        await WebBrowser.SignInAsync(page, "demo", "not-the-password");
        await page.GetByText("Wrong name or password.").WaitForAsync();

        // The API's throttle answer (429 + Retry-After), as the page shows it: for this one request only, so the next
        // sign-in reaches the server whenever the browser drops the route.
        await page.RouteAsync(
            "**/api/v1/session",
            route => route.FulfillAsync(new()
            {
                Status = 429,
                ContentType = "application/problem+json",
                Headers = new Dictionary<string, string> { ["Retry-After"] = "42" },
                Body = """{"title":"Too many requests.","status":429,"detail":"Too many failed sign-ins; try again in 42 s."}""",
            }),
            new() { Times = 1 });
        await WebBrowser.SignInAsync(page, "demo", "again-wrong");
        await page.GetByText("Too many failed sign-ins. Try again in 42 s.").WaitForAsync();

        await WebBrowser.SignInAsync(page, "demo", TestServer.DemoPassword);
        try
        {
            // Where the browser goes is the point (home, not the foreign return): the navigation committing says so; the
            // home page's own loading is waited for by the click below.
            await page.WaitForURLAsync(u => new Uri(u).AbsolutePath == "/", new() { WaitUntil = WaitUntilState.Commit });
        }
        catch (TimeoutException)
        {
            var shown = await page.Locator("#sign-in-error").CountAsync() > 0 ? await page.Locator("#sign-in-error").TextContentAsync() : "(no sign-in form)";
            Assert.Fail($"the right password did not lead home; the page ({page.Url}) says: {shown}; problems: {string.Join("; ", problems)}");
        }

        Assert.Equal(Server.BaseAddress.Authority, new Uri(page.Url).Authority);

        // Signing out ends the session: the API answers 401 afterwards, and the app is back at sign-in.
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await page.WaitForURLAsync(u => new Uri(u).AbsolutePath == "/sign-in");
        var status = await page.EvaluateAsync<int>("() => fetch('/api/v1/me').then(r => r.status)");
        Assert.Equal(401, status);
        Assert.Empty(problems);
    }

    [Fact]
    public async Task ExpiredSession_SendsToSignInAndBackToTheSameCallAndFilters()
    {
        var problems = new List<string>();
        await using var context = await web.NewContextAsync();
        var page = await SignedInHomeAsync(context, problems);
        await page.GotoAsync("/calls/1003?name=a&min=5");
        await page.Locator(".wave.ready").WaitForAsync();
        await page.Locator(".results .status").GetByText("shown").WaitForAsync();

        // Past the session's lifetime: the next thing the page asks the API for answers 401.
        Server.Clock.Advance(TimeSpan.FromHours(13));
        await page.GetByRole(AriaRole.Button, new() { Name = "Search", Exact = true }).ClickAsync();
        await page.WaitForURLAsync(u => new Uri(u).AbsolutePath == "/sign-in");
        Assert.Equal("/calls/1003?name=a&min=5", Uri.UnescapeDataString(new Uri(page.Url).Query.Split("return=")[1]));
        await WebBrowser.SignInAsync(page, "demo", TestServer.DemoPassword);
        await page.WaitForURLAsync(u => new Uri(u).PathAndQuery == "/calls/1003?name=a&min=5");
        Assert.Equal("a", await page.GetByLabel("Name", new() { Exact = true }).InputValueAsync());
        Assert.Empty(problems);
    }

    [Fact]
    public async Task Auditor_SeesTheReasonOfAPlayInTheCallAndTheAuditPage()
    {
        await Server.AddUserAsync("web-admin", "Admin-Pass-1", ["admin"]);
        var problems = new List<string>();
        await using var context = await web.NewContextAsync();
        var page = await WebBrowser.NewPageAsync(context, problems);
        await page.GotoAsync("/calls/1005");
        await WebBrowser.SignInAsync(page, "web-admin", "Admin-Pass-1");
        await page.WaitForURLAsync(u => new Uri(u).AbsolutePath == "/calls/1005");
        await page.Locator("#play").ClickAsync();
        await page.GetByLabel("Reason", new() { Exact = true }).FillAsync("Complaint 99 by the customer");
        await page.GetByRole(AriaRole.Button, new() { Name = "Continue" }).ClickAsync();
        await page.WaitForFunctionAsync("() => document.getElementById('media').currentTime > 0.2");
        await page.Locator("#play").ClickAsync();
        await Server.FlushAuditAsync();

        // The call's access list (reloaded) shows who listened, and why.
        await page.ReloadAsync();
        var access = page.Locator("section.access");
        await access.GetByText("Complaint 99 by the customer").WaitForAsync();
        Assert.Contains("web-admin", await access.InnerTextAsync(), StringComparison.Ordinal);

        // The audit page: filtered by call, the chain intact, a CSV export with the same filter.
        await page.GetByRole(AriaRole.Link, new() { Name = "Audit" }).ClickAsync();
        await page.WaitForURLAsync(u => new Uri(u).AbsolutePath == "/audit");
        await page.GetByText("Audit chain intact").WaitForAsync();
        await page.GetByLabel("Call id").FillAsync("1005");
        await page.GetByRole(AriaRole.Button, new() { Name = "Filter" }).ClickAsync();
        await page.Locator("table.audit").GetByText("Complaint 99 by the customer").First.WaitForAsync();
        var csv = await page.RunAndWaitForDownloadAsync(() => page.Locator("#audit-csv").ClickAsync());
        var csvPath = Path.Combine(Server.DataDir, "audit.csv");
        await csv.SaveAsAsync(csvPath);
        Assert.Contains("Complaint 99 by the customer", await File.ReadAllTextAsync(csvPath), StringComparison.Ordinal);
        Assert.Empty(problems);
    }

    [Fact]
    public async Task Pages_PhoneAndDesktop_AccessibleFastSmallAndScreenshotted()
    {
        var axe = Path.Combine(WebBrowser.RepositoryRoot, "node_modules", "axe-core", "axe.min.js");
        Assert.True(File.Exists(axe), "axe-core is not installed (scripts/setup.sh runs npm ci)");
        var shots = Environment.GetEnvironmentVariable("CALLMEDIA_SCREENSHOTS") ?? Path.Combine(Server.DataDir, "screenshots");
        Directory.CreateDirectory(shots);

        foreach (var phone in new[] { false, true })
        {
            var width = phone ? "phone" : "desktop";
            var problems = new List<string>();
            await using var context = await web.NewContextAsync(phone, bypassCsp: true);
            var page = await WebBrowser.NewPageAsync(context, problems);
            await page.GotoAsync("/sign-in");
            await AssertAccessibleAsync(page, axe, "sign-in " + width);
            await page.ScreenshotAsync(new() { Path = Path.Combine(shots, $"sign-in-{width}.png") });
            await WebBrowser.SignInAsync(page, "demo", TestServer.DemoPassword);
            await SignedInAtAsync(page, "/");

            await page.GotoAsync($"/calls/{CallMedia.Import.DemoData.TwoDirectionId}");
            await page.Locator(".wave.two-lanes").WaitForAsync();
            await page.Locator("tbody tr").First.WaitForAsync();
            await page.WaitForTimeoutAsync(200);
            await AssertAccessibleAsync(page, axe, "calls " + width);
            await page.ScreenshotAsync(new() { Path = Path.Combine(shots, $"calls-{width}.png"), FullPage = !phone });

            // First view of a call: interactive within 1 s, under 300 KB over the wire. Each load starts cold (a new
            // context: no cache), signed in through the API; the best of two, as the machine is shared.
            var best = (Millis: double.MaxValue, Bytes: 0L);
            for (var attempt = 0; attempt < 2; attempt++)
            {
                await using var cold = await web.NewContextAsync(phone);
                var signIn = await cold.APIRequest.PostAsync("/api/v1/session", new() { DataObject = new { loginName = "demo", password = TestServer.DemoPassword } });
                Assert.Equal(200, signIn.Status);
                var measure = await cold.NewPageAsync();
                var responses = new List<IResponse>();
                measure.Response += (_, r) => responses.Add(r);
                var watch = System.Diagnostics.Stopwatch.StartNew();
                await measure.GotoAsync($"/calls/{CallMedia.Import.DemoData.TwoDirectionId}", new() { WaitUntil = WaitUntilState.Commit });
                await measure.Locator("tbody tr").First.WaitForAsync();
                await measure.Locator("#play").WaitForAsync();
                await measure.Locator(".wave.two-lanes").WaitForAsync();
                var millis = watch.Elapsed.TotalMilliseconds;
                long bytes = 0;
                foreach (var r in responses.ToList())
                {
                    var sizes = await r.Request.SizesAsync();
                    bytes += sizes.ResponseBodySize + sizes.ResponseHeadersSize;
                }

                if (millis < best.Millis)
                {
                    best = (millis, bytes);
                }
            }

            Console.WriteLine($"{width}: first view transferred {best.Bytes} bytes (budget 300000)");
            Assert.True(best.Bytes < 300_000, $"{width}: first view transferred {best.Bytes} bytes");
            AssertTimeBudget(best.Millis, 1000, $"{width}: first view");

            Assert.Empty(problems);
        }
    }

    [Fact]
    public async Task CallLog_FiveHundredRows_LoadByScrollingAndStaySmooth()
    {
        var template = await StoredFileAsync(1003);
        await Server.SeedAsync(Enumerable.Range(0, 540).Select(_ => (IReadOnlyList<SeedFile>)[TestData.FileOf(MediaType.Audio, template)]));
        var problems = new List<string>();
        await using var context = await web.NewContextAsync();
        var page = await WebBrowser.NewPageAsync(context, problems);
        await page.GotoAsync("/sign-in");
        await WebBrowser.SignInAsync(page, "demo", TestServer.DemoPassword);
        await page.Locator("tbody tr").First.WaitForAsync();

        // Infinite scroll: each time the end of the list comes into view, the next page follows.
        for (var i = 0; i < 20 && await page.Locator("tbody tr").CountAsync() < 500; i++)
        {
            await page.Locator("button.more").ScrollIntoViewIfNeededAsync();
            await page.WaitForTimeoutAsync(150);
        }

        Assert.True(await page.Locator("tbody tr").CountAsync() >= 500);

        // Smooth: scrolling through 500+ rows keeps every frame under 100 ms.
        var worstFrame = await page.EvaluateAsync<double>(
            """
            async () => {
              let worst = 0, last = performance.now();
              for (let y = 0; y < document.body.scrollHeight; y += 600) {
                window.scrollTo(0, y);
                await new Promise(r => requestAnimationFrame(r));
                const now = performance.now();
                worst = Math.max(worst, now - last);
                last = now;
              }
              return worst;
            }
            """);
        AssertTimeBudget(worstFrame, 100, "worst frame while scrolling 500+ rows");
        Assert.Empty(problems);
    }

    /// <summary>
    /// A time budget, asserted on a machine that is not overloaded. This 2-core machine is shared with parallel
    /// builds; when the load average is more than twice the cores, a time says nothing about the app and is only
    /// reported.
    /// </summary>
    private static void AssertTimeBudget(double millis, double budget, string what)
    {
        var load = double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        Console.WriteLine($"{what}: {millis:0} ms (budget {budget:0} ms, load average {load})");
        if (load <= 2 * Environment.ProcessorCount)
        {
            Assert.True(millis < budget, $"{what} took {millis:0} ms (budget {budget:0} ms, load average {load})");
        }
    }

    private static async Task AssertAccessibleAsync(IPage page, string axe, string what)
    {
        await page.AddScriptTagAsync(new() { Path = axe });
        var json = await page.EvaluateAsync<string>(
            "async () => JSON.stringify((await axe.run(document, { resultTypes: ['violations'] })).violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => ({ id: v.id, nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 3) })))");
        Assert.True(json == "[]", $"{what}: axe found {json}");
    }

    private static Task<double> CurrentTimeAsync(IPage page) => page.EvaluateAsync<double>("() => document.getElementById('media').currentTime");

    private async Task<IReadOnlyList<Couple>> AllCallsAsync()
    {
        var store = Server.Services.GetRequiredService<CallStore>();
        return (await store.ListAsync(new CoupleFilter(Limit: 10_000))).Where(c => c.Sid.EndsWith("@pbx-demo", StringComparison.Ordinal)).ToList();
    }

    /// <summary>The demo's longest call recorded as one MP3 (so the stored file is what a download returns).</summary>
    private async Task<Couple> LongestAudioCallAsync()
    {
        var calls = (await AllCallsAsync()).Where(c => c.Id <= 1020).ToList();
        return calls.OrderByDescending(c => c.StopAt - c.StartAt).First();
    }

    private async Task<string> StoredFileAsync(long id)
    {
        var files = await Server.Services.GetRequiredService<CallStore>().GetFilesAsync([id]);
        return Server.Services.GetRequiredService<MediaRoot>().Resolve(files[id].Single(f => f.Type == MediaType.Audio).Path);
    }

    /// <summary>Opens <paramref name="path"/> without a session: the app sends to sign-in, and back there once signed in as demo.</summary>
    private static async Task OpenSignedInAsync(IPage page, string path)
    {
        var visited = new System.Collections.Concurrent.ConcurrentQueue<string>();
        page.FrameNavigated += (_, frame) =>
        {
            if (frame == page.MainFrame)
            {
                visited.Enqueue(new Uri(frame.Url).PathAndQuery);
            }
        };
        await page.GotoAsync(path);
        await page.WaitForURLAsync(u => new Uri(u).AbsolutePath == "/sign-in");
        await WebBrowser.SignInAsync(page, "demo", TestServer.DemoPassword);
        await SignedInAtAsync(page, path, () => $"pages loaded: {string.Join(" → ", visited)}");
    }

    /// <summary>Waits for the page to be at <paramref name="path"/> after a sign-in; if it is not, says what the page shows instead.</summary>
    private static async Task SignedInAtAsync(IPage page, string path, Func<string>? more = null)
    {
        try
        {
            await page.WaitForURLAsync(u => new Uri(u).AbsolutePath == path);
        }
        catch (TimeoutException ex)
        {
            // Say what the page shows: a sign-in error (the server's answer) or a page that never finished loading.
            var shown = await page.Locator("#sign-in-error").CountAsync() > 0 ? await page.Locator("#sign-in-error").TextContentAsync() : null;
            throw new TimeoutException($"not at {path} after signing in: at {page.Url}, sign-in error '{shown}' {more?.Invoke()}", ex);
        }
    }
}
