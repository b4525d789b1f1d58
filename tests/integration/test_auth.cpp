// Sign-in flows against graphsim over HTTPS: device code (every state), auth code + PKCE,
// client credentials with a secret and with a certificate, refresh and rotation, the
// token cache, sign-out, and 401 -> refresh -> retry.
#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <curl/curl.h>

#include <thread>

#include "platform/os.hpp"
#include "support/owner_only.hpp"
#include "auth/delegated.hpp"
#include "auth/token_cache.hpp"
#include "integration/sim_fixture.hpp"
#include "util/log.hpp"

using namespace cdeck::core;
using cdeck::test::SimFixture;
using cdeck::test::SimOptions;

namespace {

std::shared_ptr<DelegatedTokenProvider> Delegated(const SimFixture& f,
                                                  std::shared_ptr<TokenCache> cache = nullptr) {
    DelegatedConfig c;
    c.authorityUrl = f.info.authorityUrl;
    c.tenant = f.info.tenant;
    c.clientId = f.info.clientId;
    c.cache = std::move(cache);
    return std::make_shared<DelegatedTokenProvider>(c, f.http);
}

auto FastWait = [](std::chrono::milliseconds) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
};

// Plays the browser: GETs the authorize URL, follows graphsim's redirect to the app's
// loopback listener. Uses libcurl with graphsim's CA (verification on).
void Browser(const std::string& url, const std::string& caFile) {
    CURL* c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_CAINFO, caFile.c_str());
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(
        c, CURLOPT_WRITEFUNCTION, +[](char*, size_t s, size_t n, void*) { return s * n; });
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_perform(c);
    curl_easy_cleanup(c);
}

}  // namespace

TEST_CASE("device code flow: pending, then approved, then Graph calls as the user") {
    SimFixture f;
    auto auth = Delegated(f);
    auto prompt = auth->RequestDeviceCode();
    REQUIRE_MESSAGE(prompt.ok(), cdeck::test::ErrText(prompt));
    CHECK(prompt->userCode.size() >= 6);
    CHECK(prompt->verificationUri.rfind("https://", 0) == 0);
    CHECK(prompt->message.find(prompt->userCode) != std::string::npos);
    CHECK(prompt->interval == 1);

    CHECK(auth->PollDeviceCode(prompt->deviceCode) == DevicePoll::kPending);
    // Polling again at once is too fast.
    CHECK(auth->PollDeviceCode(prompt->deviceCode) == DevicePoll::kSlowDown);
    f.Control("/_sim/devicecode/approve",
              {{"user_code", prompt->userCode}, {"user", "Amara Okafor"}});
    std::this_thread::sleep_for(std::chrono::milliseconds(1100 + 5000));  // slow_down added 5 s
    REQUIRE(auth->PollDeviceCode(prompt->deviceCode) == DevicePoll::kSuccess);
    CHECK(auth->Account() == "amara@northwind.example");
    auto scopes = auth->GrantedScopes();
    CHECK(std::find(scopes.begin(), scopes.end(), "ChannelMessage.Send") != scopes.end());

    auto client = f.ClientWith(auth);
    auto teams = client->ListJoinedTeams();
    REQUIRE_MESSAGE(teams.ok(), cdeck::test::ErrText(teams));
    CHECK(teams->size() == 3);  // Amara is a member of three demo teams
}

TEST_CASE("device code flow: the whole loop handles declined, expired and bad codes") {
    {
        SimFixture f;
        auto auth = Delegated(f);
        std::atomic<bool> cancel{false};
        Status st = auth->SignInWithDeviceCode(
            [&](const DeviceCodePrompt& p) {
                f.Control("/_sim/devicecode/approve",
                          {{"user_code", p.userCode}, {"decline", true}});
            },
            &cancel, FastWait);
        REQUIRE_FALSE(st.ok());
        CHECK(st.error().code == ErrorCode::kAuth);
        CHECK(st.error().message.find("declined") != std::string::npos);
    }
    {
        SimOptions o;
        o.scenario = [](nlohmann::json& s) { s["device_code_lifetime_seconds"] = 2; };
        SimFixture f(o);
        auto auth = Delegated(f);
        Status st = auth->SignInWithDeviceCode(nullptr, nullptr, FastWait);
        REQUIRE_FALSE(st.ok());
        CHECK(st.error().message.find("expired") != std::string::npos);
    }
    {
        SimFixture f;
        auto auth = Delegated(f);
        CHECK(auth->PollDeviceCode("not-a-real-device-code") == DevicePoll::kBadCode);
    }
    {
        SimFixture f;
        auto auth = Delegated(f);
        std::atomic<bool> cancel{false};
        std::thread canceller([&] {
            std::this_thread::sleep_for(std::chrono::milliseconds(300));
            cancel = true;
        });
        Status st = auth->SignInWithDeviceCode(nullptr, &cancel, FastWait);
        canceller.join();
        REQUIRE_FALSE(st.ok());
        CHECK(st.error().code == ErrorCode::kCancelled);
    }
}

TEST_CASE("device code flow with --auto-approve signs in on the first poll") {
    SimOptions o;
    o.autoApprove = true;
    SimFixture f(o);
    auto auth = Delegated(f);
    DeviceCodePrompt shown;
    Status st = auth->SignInWithDeviceCode([&](const DeviceCodePrompt& p) { shown = p; }, nullptr,
                                           FastWait);
    REQUIRE_MESSAGE(st.ok(), cdeck::test::ErrText(st));
    CHECK_FALSE(shown.userCode.empty());
    CHECK(auth->SignedIn());
}

TEST_CASE("auth code + PKCE on a loopback redirect") {
    SimOptions o;
    o.autoApprove = true;
    SimFixture f(o);
    auto auth = Delegated(f);
    std::string openedUrl;
    std::thread browser;
    Status st = auth->SignInWithBrowser(
        [&](const std::string& url) {
            openedUrl = url;
            browser = std::thread([url, ca = f.info.caFile] { Browser(url, ca); });
        },
        nullptr, std::chrono::seconds(20));
    if (browser.joinable()) browser.join();
    REQUIRE_MESSAGE(st.ok(), cdeck::test::ErrText(st));
    CHECK(openedUrl.find("code_challenge_method=S256") != std::string::npos);
    CHECK(openedUrl.find("redirect_uri=http%3A%2F%2F127.0.0.1%3A") != std::string::npos);
    auto teams = f.ClientWith(auth)->ListJoinedTeams();
    CHECK(teams.ok());
}

TEST_CASE("a PKCE verifier that does not match the challenge is rejected") {
    SimFixture f;
    // Drive the authorize endpoint by hand to get a code for a known challenge.
    std::string verifier = NewPkceVerifier();
    std::string redirect = "http://127.0.0.1:5555/";
    CHECK(verifier.size() == 64);
    CHECK(PkceChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") ==
          "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    HttpRequest req;
    req.url = f.info.authorityUrl + "/" + f.info.tenant + "/oauth2/v2.0/authorize?" +
              FormEncode({{"client_id", f.info.clientId},
                          {"response_type", "code"},
                          {"redirect_uri", redirect},
                          {"scope", "openid offline_access"},
                          {"state", "s1"},
                          {"code_challenge", PkceChallenge(verifier)},
                          {"code_challenge_method", "S256"}});
    auto page = f.http->Send(req);
    REQUIRE(page.ok());
    REQUIRE(page->status == 200);  // the approval page
    auto idPos = page->body.find("name=\"request\" value=\"");
    REQUIRE(idPos != std::string::npos);
    std::string requestId = page->body.substr(idPos + 22, 24);
    HttpRequest approve;
    approve.method = "POST";
    approve.url = f.info.authorityUrl + "/" + f.info.tenant + "/oauth2/v2.0/authorize/decision";
    approve.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    approve.body = FormEncode({{"request", requestId}, {"decision", "approve"}, {"user", "2"}});
    auto redirectResp = f.http->Send(approve);
    REQUIRE(redirectResp.ok());
    REQUIRE(redirectResp->status == 302);
    std::string location = redirectResp->Header("location");
    auto codePos = location.find("code=");
    REQUIRE(codePos != std::string::npos);
    std::string code = location.substr(codePos + 5, location.find('&', codePos) - codePos - 5);
    CHECK(location.find("state=s1") != std::string::npos);

    auto auth = Delegated(f);
    Status wrong = auth->ExchangeCode(code, NewPkceVerifier(), redirect);
    REQUIRE_FALSE(wrong.ok());
    CHECK(wrong.error().code == ErrorCode::kAuth);
    CHECK(wrong.error().graphCode == "invalid_grant");
    CHECK_FALSE(auth->SignedIn());
}

TEST_CASE("refresh before expiry rotates the refresh token, and the cache file is 0600") {
    SimOptions o;
    o.autoApprove = true;
    o.tokenLifetime = 3;
    SimFixture f(o);
    auto cache = std::make_shared<TokenCache>((f.state.path / "state" / "tokens.json").string());
    auto auth = Delegated(f, cache);
    REQUIRE(auth->SignInWithDeviceCode(nullptr, nullptr, FastWait).ok());
    CHECK(cdeck::test::OwnerOnlyProblem(cache->Path(),
                                        cdeck::core::os::OwnerOnlyDescriptorText()) == "");
    auto first = auth->Token(false);
    REQUIRE(first.ok());
    auto rt1 = cache->FindFor("");
    REQUIRE(rt1.has_value());

    std::this_thread::sleep_for(
        std::chrono::milliseconds(2700));  // inside the 20% margin, not yet expired
    auto second = auth->Token(false);
    REQUIRE_MESSAGE(second.ok(), cdeck::test::ErrText(second));
    CHECK(second->token != first->token);
    auto rt2 = cache->FindFor("");
    REQUIRE(rt2.has_value());
    CHECK(rt2->second.refreshToken != rt1->second.refreshToken);  // rotated

    // The old refresh token no longer works.
    HttpRequest req;
    req.method = "POST";
    req.url = f.info.authorityUrl + "/" + f.info.tenant + "/oauth2/v2.0/token";
    req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    req.body = FormEncode({{"client_id", f.info.clientId},
                           {"grant_type", "refresh_token"},
                           {"refresh_token", rt1->second.refreshToken}});
    auto old = f.http->Send(req);
    REQUIRE(old.ok());
    CHECK(old->status == 400);
    CHECK(old->body.find("invalid_grant") != std::string::npos);

    // A new process restores the account from the cache and refreshes silently.
    auto restored = Delegated(f, cache);
    REQUIRE(restored->RestoreFromCache());
    CHECK(restored->Account() == auth->Account());
    CHECK(restored->Token(false).ok());

    // Sign-out removes the cache entry.
    REQUIRE(restored->SignOut().ok());
    CHECK_FALSE(cache->FindFor("").has_value());
    auto after = restored->Token(false);
    REQUIRE_FALSE(after.ok());
    CHECK(after.error().code == ErrorCode::kAuth);
}

TEST_CASE("a 401 refreshes the token once and retries the request") {
    SimOptions o;
    o.autoApprove = true;
    SimFixture f(o);
    auto auth = Delegated(f);
    REQUIRE(auth->SignInWithDeviceCode(nullptr, nullptr, FastWait).ok());
    auto client = f.ClientWith(auth);
    REQUIRE(client->ListJoinedTeams().ok());
    // The server's clock jumps two hours: our cached access token is now expired there,
    // though the client still believes it valid.
    f.Control("/_sim/clock", {{"offset_seconds", 7200}});
    auto before = f.Stats()["requests"].value("token", 0);
    auto teams = client->ListJoinedTeams();
    REQUIRE_MESSAGE(teams.ok(), cdeck::test::ErrText(teams));
    CHECK(f.Stats()["requests"].value("token", 0) == before + 1);  // exactly one refresh
}

TEST_CASE("client credentials with a certificate (JWT client assertion)") {
    // Make an RSA key and a self-signed certificate, register it with the demo app.
    EVP_PKEY* key = EVP_RSA_gen(2048);
    REQUIRE(key);
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 7);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("channeldeck-test"), -1, -1,
                               0);
    X509_set_issuer_name(cert, X509_get_subject_name(cert));
    REQUIRE(X509_sign(cert, key, EVP_sha256()) > 0);
    auto pem = [](auto write) {
        BIO* b = BIO_new(BIO_s_mem());
        write(b);
        char* d;
        long n = BIO_get_mem_data(b, &d);
        std::string s(d, static_cast<size_t>(n));
        BIO_free(b);
        return s;
    };
    std::string certPem = pem([&](BIO* b) { PEM_write_bio_X509(b, cert); });
    std::string keyPem = pem(
        [&](BIO* b) { PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr); });
    X509_free(cert);
    EVP_PKEY_free(key);

    SimOptions o;
    o.scenario = [&](nlohmann::json& s) { s["apps"][0]["certificates"] = {certPem}; };
    SimFixture f(o);
    auto certFile = f.state.path / "app.crt";
    auto keyFile = f.state.path / "app.key";
    {
        std::ofstream(certFile) << certPem;
        std::ofstream(keyFile) << keyPem;
        REQUIRE(cdeck::core::os::RestrictToOwner(keyFile.string()).ok());
    }
    ClientCredentialsConfig cc{f.info.authorityUrl, f.info.tenant, f.info.clientId, ""};
    cc.certificatePath = certFile.string();
    cc.privateKeyPath = keyFile.string();
    auto provider = std::make_shared<ClientCredentialsProvider>(cc, f.http);
    auto teams = f.ClientWith(provider)->ListAllTeams();
    REQUIRE_MESSAGE(teams.ok(), cdeck::test::ErrText(teams));
    CHECK(teams->size() == 7);

    // A certificate the app does not have registered is refused.
    SimFixture other;
    auto refused = std::make_shared<ClientCredentialsProvider>(
        ClientCredentialsConfig{other.info.authorityUrl, other.info.tenant, other.info.clientId, "",
                                cc.scope, cc.certificatePath, cc.privateKeyPath},
        other.http);
    auto r = refused->Token(false);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::kAuth);
}

TEST_CASE(
    "no access token, refresh token or device code reaches the log in a delegated sign-in and "
    "sync") {
    std::vector<std::string> lines;
    std::mutex m;
    LogLevel prev = GetLogLevel();
    SetLogLevel(LogLevel::kDebug);
    auto old = SetLogSink([&](LogLevel, std::string_view l) {
        std::lock_guard lock(m);
        lines.emplace_back(l);
    });
    struct Restore {
        LogSink& sink;
        LogLevel level;
        ~Restore() {
            SetLogSink(std::move(sink));
            SetLogLevel(level);
        }
    } restore{old, prev};

    SimOptions o;
    o.autoApprove = true;
    o.tokenLifetime = 2;
    SimFixture f(o);
    auto cache = std::make_shared<TokenCache>((f.state.path / "tokens.json").string());
    auto auth = Delegated(f, cache);
    std::string deviceCode;
    REQUIRE(
        auth->SignInWithDeviceCode([&](const DeviceCodePrompt& p) { deviceCode = p.deviceCode; },
                                   nullptr, FastWait)
            .ok());
    std::vector<std::string> secrets = {deviceCode};
    for (int i = 0; i < 3; ++i) {
        auto t = auth->Token(i > 0);  // forces refreshes (rotation)
        REQUIRE(t.ok());
        secrets.push_back(t->token);
        secrets.push_back(cache->FindFor("")->second.refreshToken);
        REQUIRE(f.ClientWith(auth)->ListJoinedTeams().ok());
    }
    REQUIRE(auth->SignOut().ok());
    std::lock_guard lock(m);
    REQUIRE_FALSE(lines.empty());
    for (const auto& l : lines)
        for (const auto& s : secrets) {
            CAPTURE(l);
            CHECK(l.find(s) == std::string::npos);
            CHECK(l.find(s.substr(0, std::min<size_t>(20, s.size()))) == std::string::npos);
        }
}
