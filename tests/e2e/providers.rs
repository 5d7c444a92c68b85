//! The email and SMS settings of the tests that play a customer's mail
//! client and phone and Twilio: the test kit's, shared with the
//! distributed tests (`omni_testkit::providers`).

pub use omni_testkit::providers::{
    DOMAIN, OUR_NUMBER, SMS_PUBLIC_URL, email_and_sms_config, twilio_account,
};
